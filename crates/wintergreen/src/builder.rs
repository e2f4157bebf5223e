//! [`ClientBuilder`] and [`ServerBuilder`]: one builder per role. Each produces the plain
//! configuration structs of wintergreen-connect ([`ClientOptions`], [`ServerOptions`]),
//! whose fields are grouped by layer — the session (`client.session`/`server.session`,
//! codec limits and timers), the handshake (subprotocols, extensions, headers, policy,
//! limits), the driver (`stream`) and the connection (timeouts, HTTP version, TLS) — and
//! connects or accepts on a runtime: the one given with `.runtime(...)`, or by default
//! tokio when called inside a tokio runtime, else smol, else async-std (the first whose
//! feature is on; smol's and async-std's reactors run under any executor).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Request};
use wintergreen_codec::ExtensionFactory;
use wintergreen_connect::{
    AcceptedConnection, ClientOptions, ConnectError, Http2Mode, IntoClientRequest, ServerOptions,
    Transport, WebSocketListener,
};
use wintergreen_handshake::Rejection;
use wintergreen_http1::Limits;
use wintergreen_stream::{KeepAlive, Runtime, TcpListener, TcpStream, WebSocketStream};

/// The runtime a builder uses when none is given: tokio when called inside a tokio
/// runtime, else smol, else async-std — the first of them whose feature is on. smol's and
/// async-std's reactors run on threads of their own, so either works under any executor;
/// tokio's futures panic outside a tokio runtime, so tokio is picked only inside one
/// (with tokio's feature alone, outside a tokio runtime, this is an error, not a panic).
fn default_runtime() -> Result<Arc<dyn Runtime>, ConnectError> {
    #[cfg(feature = "runtime-tokio")]
    if wintergreen_tokio::Tokio::is_current() {
        return Ok(Arc::new(wintergreen_tokio::Tokio));
    }
    #[cfg(feature = "runtime-smol")]
    return Ok(Arc::new(wintergreen_smol::Smol));
    #[cfg(all(not(feature = "runtime-smol"), feature = "runtime-async-std"))]
    return Ok(Arc::new(wintergreen_async_std::AsyncStd));
    #[allow(unreachable_code)]
    Err(ConnectError::invalid_request(io::Error::new(
        io::ErrorKind::Unsupported,
        if cfg!(feature = "runtime-tokio") {
            "no runtime: not inside a tokio runtime, and neither runtime-smol nor \
             runtime-async-std is on; run inside one or call .runtime(...)"
        } else {
            "no runtime: enable a runtime feature or call .runtime(...)"
        },
    )))
}

/// Builds a client connection; every setter's default is the one of
/// [`ClientOptions::default`].
///
/// ```no_run
/// # async fn run() -> Result<(), wintergreen::ConnectError> {
/// let (ws, response) = wintergreen::ClientBuilder::new("ws://127.0.0.1:8080/chat")
///     .header("Authorization", "Bearer token")
///     .subprotocol("chat.v1")
///     .max_message_size(1 << 20)
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    request: Result<Request<()>, ConnectError>,
    options: Result<ClientOptions, ConnectError>,
    runtime: Option<Arc<dyn Runtime>>,
}

impl ClientBuilder {
    /// Starts from a URL (`ws://` or `wss://`), an [`http::Uri`] or an
    /// [`http::Request<()>`], with [`ClientOptions::default`].
    pub fn new(request: impl IntoClientRequest) -> Self {
        Self {
            request: request.into_client_request(),
            options: Ok(ClientOptions::default()),
            runtime: None,
        }
    }

    fn map(mut self, f: impl FnOnce(ClientOptions) -> Result<ClientOptions, ConnectError>) -> Self {
        self.options = self.options.and_then(f);
        self
    }

    fn set(self, f: impl FnOnce(&mut ClientOptions)) -> Self {
        self.map(|mut options| {
            f(&mut options);
            Ok(options)
        })
    }

    /// The runtime to connect on. Default: tokio when called inside a tokio runtime, else
    /// smol, else async-std, the first whose feature is on (smol's and async-std's
    /// reactors run under any executor).
    #[must_use]
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Handshake: adds a header field to the upgrade request. Default: none. An invalid
    /// name or value makes [`connect`](Self::connect) fail with
    /// [`ConnectError::InvalidRequest`].
    #[must_use]
    pub fn header(self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).map_err(ConnectError::invalid_request);
        let value = HeaderValue::try_from(value).map_err(ConnectError::invalid_request);
        self.map(|mut options| {
            options.handshake.headers.append(name?, value?);
            Ok(options)
        })
    }

    /// Handshake: offers a subprotocol; call again for more, in order of preference.
    /// Default: none.
    #[must_use]
    pub fn subprotocol(self, protocol: impl Into<String>) -> Self {
        let protocol = protocol.into();
        self.set(|options| options.handshake.subprotocols.push(protocol))
    }

    /// Handshake: offers an extension, after those already offered. Default:
    /// permessage-deflate with the `deflate` feature, else none.
    #[must_use]
    pub fn extension(self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.set(|options| options.handshake.extensions.push(factory))
    }

    /// Handshake: offers no extension (opts out of the default permessage-deflate).
    #[must_use]
    pub fn no_extensions(self) -> Self {
        self.set(|options| options.handshake.extensions.clear())
    }

    /// Session: the largest message accepted, in bytes. Default: 64 MiB.
    #[must_use]
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.set(|options| options.session.max_message_size = bytes)
    }

    /// Session: the largest frame accepted, in bytes. Default: 16 MiB.
    #[must_use]
    pub fn max_frame_size(self, bytes: usize) -> Self {
        self.set(|options| options.session.max_frame_size = bytes)
    }

    /// Session: how long the close handshake may take, and then how long to wait for the
    /// server to end the connection (RFC 6455 §7.1.1). Default: 10 s.
    #[must_use]
    pub fn close_timeout(self, timeout: Duration) -> Self {
        self.set(|options| options.session.close_timeout = timeout)
    }

    /// Session: start the close handshake (1001 Going Away, RFC 6455 §7.4.1) when no data
    /// message was sent or received for `timeout`; pings and pongs do not count. The stream
    /// then yields [`TimerKind::Idle`](crate::TimerKind::Idle). Default: off.
    #[must_use]
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.set(|options| options.session.idle_timeout = Some(timeout))
    }

    /// Session: keep-alive pings every `interval`, giving up on a peer silent for
    /// `interval + timeout`. Default: off.
    #[must_use]
    pub fn keepalive(self, keepalive: KeepAlive) -> Self {
        self.set(|options| options.session.keepalive = Some(keepalive))
    }

    /// Connection: the bound on DNS resolution plus TCP connect. Default: 30 s.
    #[must_use]
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.set(|options| options.connect.connect_timeout = timeout)
    }

    /// Connection: the bound on the TLS handshake and on the opening handshake.
    /// Default: 30 s.
    #[must_use]
    pub fn handshake_timeout(self, timeout: Duration) -> Self {
        self.set(|options| options.connect.handshake_timeout = timeout)
    }

    /// Connection: whether to open the WebSocket over HTTP/2 (RFC 8441; the `http2`
    /// feature): [`Http2Mode::Prefer`] falls back to HTTP/1.1, [`Http2Mode::Require`] does
    /// not. Default: [`Http2Mode::Off`].
    #[must_use]
    pub fn http2(self, mode: Http2Mode) -> Self {
        self.set(|options| options.connect.http2 = mode)
    }

    /// Connection: a custom TLS client configuration for `wss://` (e.g. a private root
    /// store). Default: the enabled features' roots.
    #[cfg(any(feature = "rustls-tls", feature = "rustls-native-roots"))]
    #[must_use]
    pub fn tls_config(self, config: Arc<wintergreen_connect::tls::rustls::ClientConfig>) -> Self {
        self.set(|options| options.connect.tls = Some(config))
    }

    /// Connection: trusts exactly `roots` for `wss://` instead of the enabled features'
    /// roots — a private CA, or a self-signed server certificate; read a PEM file with
    /// [`tls::root_store_from_pem`](crate::tls::root_store_from_pem). ALPN follows
    /// [`http2`](Self::http2). Replaces a [`tls_config`](Self::tls_config) given before.
    /// Without a crypto provider, [`connect`](Self::connect) fails with
    /// [`ConnectError::Tls`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let roots = wintergreen::tls::root_store_from_pem(&std::fs::read("ca.pem")?)?;
    /// let (ws, _) = wintergreen::ClientBuilder::new("wss://internal.example:8443/")
    ///     .root_certificates(roots)
    ///     .connect()
    ///     .await?;
    /// # drop(ws); Ok(()) }
    /// ```
    #[cfg(any(feature = "rustls-tls", feature = "rustls-native-roots"))]
    #[must_use]
    pub fn root_certificates(self, roots: wintergreen_connect::tls::rustls::RootCertStore) -> Self {
        self.map(|mut options| {
            let config = wintergreen_connect::tls::client_config_trusting(roots)?;
            options.connect.tls = Some(Arc::new(config));
            Ok(options)
        })
    }

    /// Connection: tunnels every connection through the proxy at `url` —
    /// `http://[user:pass@]host[:port]` (HTTP CONNECT, Basic auth), `socks5://…` (SOCKS5,
    /// target resolved here) or `socks5h://…` (resolved by the proxy); see
    /// [`proxy`](crate::proxy). TLS for `wss://` runs end to end through the tunnel.
    /// Default: no proxy. An unusable URL makes [`connect`](Self::connect) fail with
    /// [`ConnectError::Proxy`].
    #[must_use]
    pub fn proxy(self, url: &str) -> Self {
        let proxy = wintergreen_connect::proxy::Proxy::parse(url);
        self.map(|mut options| {
            options.connect.proxy = wintergreen_connect::proxy::ProxyRules::all(proxy?);
            Ok(options)
        })
    }

    /// Connection: uses the proxies the environment names, as curl and reqwest read them
    /// (`HTTPS_PROXY` for `wss://`, `HTTP_PROXY` for `ws://`, `ALL_PROXY`, `NO_PROXY`, lower
    /// case first; see [`ProxyRules::from_lookup`](crate::proxy::ProxyRules::from_lookup)).
    /// Never on unless asked for. Default: no proxy. An unusable URL in a variable makes
    /// [`connect`](Self::connect) fail with [`ConnectError::Proxy`].
    #[must_use]
    pub fn proxy_from_env(self) -> Self {
        let rules = wintergreen_connect::proxy::ProxyRules::from_env();
        self.map(|mut options| {
            options.connect.proxy = rules?;
            Ok(options)
        })
    }

    /// Connection: connects the byte stream to the target (or to its proxy) with
    /// `connector` instead of DNS and TCP — to pick the address, use another resolver or
    /// hand over a connection of your own. TLS and the handshake stay wintergreen's.
    /// Default: the runtime's resolver and TCP connect.
    #[must_use]
    pub fn connector(self, connector: Arc<dyn wintergreen_connect::Connector>) -> Self {
        self.set(|options| options.connect.connector = Some(connector))
    }

    /// Replaces all options at once.
    #[must_use]
    pub fn options(self, options: ClientOptions) -> Self {
        self.map(|_| Ok(options))
    }

    /// The request and options, ready for any runtime's connect.
    ///
    /// # Errors
    /// A bad URL, header name or value.
    pub fn build(self) -> Result<(Request<()>, ClientOptions), ConnectError> {
        Ok((self.request?, self.options?))
    }

    /// Connects on the builder's runtime. The future is boxed: see
    /// [the crate docs](crate#memory-per-connection).
    ///
    /// # Errors
    /// See [`ConnectError`].
    pub fn connect(
        self,
    ) -> impl Future<Output = Result<(WebSocketStream<Transport>, http::Response<()>), ConnectError>>
    {
        Box::pin(async move {
            let runtime = match self.runtime.clone() {
                Some(runtime) => runtime,
                None => default_runtime()?,
            };
            let (request, options) = self.build()?;
            wintergreen_connect::connect(&runtime, request, &options).await
        })
    }
}

/// Builds a server's accept: the policy (subprotocols, extensions, checks), limits and
/// timeouts; every setter's default is the one of [`ServerOptions::default`].
///
/// ```no_run
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), wintergreen::ConnectError> {
/// let server = wintergreen::ServerBuilder::new()
///     .subprotocols(["chat.v1"])
///     .max_message_size(1 << 20)
///     .handshake_timeout(std::time::Duration::from_secs(5));
/// let (ws, request) = server.accept(tcp).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    options: ServerOptions,
    runtime: Option<Arc<dyn Runtime>>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerBuilder {
    /// Starts from [`ServerOptions::default`].
    pub fn new() -> Self {
        Self {
            options: ServerOptions::default(),
            runtime: None,
        }
    }

    /// The runtime to accept on. Default: tokio when called inside a tokio runtime, else
    /// smol, else async-std, the first whose feature is on (smol's and async-std's
    /// reactors run under any executor).
    #[must_use]
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    fn policy(
        mut self,
        f: impl FnOnce(wintergreen_handshake::AcceptPolicy) -> wintergreen_handshake::AcceptPolicy,
    ) -> Self {
        self.options.handshake.policy = f(self.options.handshake.policy);
        self
    }

    /// Handshake: the subprotocols supported, in order of preference (the first the
    /// client also offers is chosen). Default: none.
    #[must_use]
    pub fn subprotocols<I, S>(self, supported: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy(|policy| policy.subprotocols(supported))
    }

    /// Handshake: supports an extension, after those already supported. Default:
    /// permessage-deflate with the `deflate` feature, else none.
    #[must_use]
    pub fn extension(self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.policy(|policy| policy.extension(factory))
    }

    /// Handshake: supports no extension (opts out of the default permessage-deflate).
    #[must_use]
    pub fn no_extensions(self) -> Self {
        self.policy(|policy| policy.no_extensions())
    }

    /// Handshake: checks each request before negotiation (its `Origin`, path, …);
    /// returning a [`Rejection`] refuses it with that response. Default: none.
    #[must_use]
    pub fn check<F>(self, check: F) -> Self
    where
        F: Fn(&Request<()>) -> Result<(), Rejection> + Send + Sync + 'static,
    {
        self.policy(|policy| policy.check(check))
    }

    /// Handshake: limits on the request head (HTTP/1.1). Default:
    /// [`Limits::default`] (16 KiB of head, 64 fields).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.options.handshake.limits = limits;
        self
    }

    /// Session: the largest message accepted, in bytes. Default: 64 MiB.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.options.session.max_message_size = bytes;
        self
    }

    /// Session: the largest frame accepted, in bytes. Default: 16 MiB.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.options.session.max_frame_size = bytes;
        self
    }

    /// Session: how long the close handshake may take, and then how long to wait for the
    /// client's end of the connection after ending ours (RFC 6455 §7.1.1). Default: 10 s.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.options.session.close_timeout = timeout;
        self
    }

    /// Session: start the close handshake (1001 Going Away, RFC 6455 §7.4.1) when no data
    /// message was sent or received for `timeout`; pings and pongs do not count. The stream
    /// then yields [`TimerKind::Idle`](crate::TimerKind::Idle). Default: off.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.session.idle_timeout = Some(timeout);
        self
    }

    /// Session: keep-alive pings every `interval`, giving up on a peer silent for
    /// `interval + timeout`. Default: off.
    #[must_use]
    pub fn keepalive(mut self, keepalive: KeepAlive) -> Self {
        self.options.session.keepalive = Some(keepalive);
        self
    }

    /// Connection: the bound on reading and answering the upgrade request (and on an
    /// HTTP/2 connection's preface). Default: 10 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.options.accept.handshake_timeout = timeout;
        self
    }

    /// Connection: serve TLS (`wss://`) with this configuration (certificate chain and
    /// key) in [`listen`](Self::listen), [`serve`](Self::serve) and
    /// [`accept_connection`](Self::accept_connection). ALPN then picks the HTTP version:
    /// `h2` → HTTP/2 (RFC 8441), else HTTP/1.1. A configuration without ALPN protocols
    /// gets `["h2", "http/1.1"]` (`["http/1.1"]` without the `http2` feature). The TLS
    /// handshake counts against the handshake timeout. Default: none (plain TCP).
    #[cfg(feature = "__rustls")]
    #[must_use]
    pub fn tls(mut self, config: Arc<wintergreen_connect::tls::rustls::ServerConfig>) -> Self {
        self.options.accept.tls = Some(wintergreen_connect::tls::server_config(&config));
        self
    }

    /// Connection: how many connections [`listen`](Self::listen)/[`serve`](Self::serve)
    /// let be in their handshake (or hold a WebSocket not yet taken) at once; past it,
    /// accepting pauses. Default: 1024.
    #[must_use]
    pub fn max_handshakes(mut self, connections: usize) -> Self {
        self.options.accept.max_handshakes = connections;
        self
    }

    /// Replaces all options at once.
    #[must_use]
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// The options, ready for any runtime's accept.
    pub fn build(self) -> ServerOptions {
        self.options
    }

    fn runtime_or_default(&self) -> Result<Arc<dyn Runtime>, ConnectError> {
        match &self.runtime {
            Some(runtime) => Ok(Arc::clone(runtime)),
            None => default_runtime(),
        }
    }

    /// Accepts a WebSocket (HTTP/1.1 upgrade) on an incoming byte stream. A futures-io
    /// stream goes through [`compat`](crate::stream::compat). The future is boxed: see
    /// [the crate docs](crate#memory-per-connection).
    ///
    /// # Errors
    /// See [`ConnectError`]; a refusal has been written to the client.
    pub fn accept<IO>(
        &self,
        io: IO,
    ) -> impl Future<Output = Result<(WebSocketStream<IO>, Request<()>), ConnectError>> + use<'_, IO>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        Box::pin(async move {
            let runtime = self.runtime_or_default()?;
            wintergreen_connect::accept(&runtime, io, &self.options).await
        })
    }

    /// Binds a TCP listener to `addr` on the runtime and serves WebSockets on it, one port
    /// for everything: HTTP/1.1 upgrades, HTTP/2 with prior knowledge (h2c), and with
    /// [`tls`](Self::tls) TLS with ALPN picking `h2` or `http/1.1`. See
    /// [`serve`](Self::serve).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), wintergreen::ConnectError> {
    /// use futures_util::{SinkExt, StreamExt};
    ///
    /// let mut listener = wintergreen::ServerBuilder::new()
    ///     .listen("127.0.0.1:8080".parse().unwrap())
    ///     .await?;
    /// while let Some(next) = listener.accept().await {
    ///     let Ok(mut accepted) = next else { continue }; // a failed connection
    ///     tokio::spawn(async move {
    ///         while let Some(Ok(message)) = accepted.websocket.next().await {
    ///             if message.is_data() && accepted.websocket.send(message).await.is_err() {
    ///                 break;
    ///             }
    ///         }
    ///     });
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ConnectError::Io`] when the address cannot be bound.
    pub async fn listen(
        &self,
        addr: std::net::SocketAddr,
    ) -> Result<WebSocketListener, ConnectError> {
        let runtime = self.runtime_or_default()?;
        let listener = runtime.tcp_listen(addr).await?;
        Ok(wintergreen_connect::serve(
            &runtime,
            listener,
            self.options.clone(),
        )?)
    }

    /// Serves WebSockets on a bound listener (one port, both HTTP versions, TLS with
    /// [`tls`](Self::tls)): each connection runs in a task of its own, bounded by the
    /// handshake timeout and [`max_handshakes`](Self::max_handshakes); the
    /// [`WebSocketListener`] hands out each WebSocket (any number per HTTP/2 connection)
    /// and each connection that failed. See [`wintergreen_connect::serve`].
    ///
    /// # Errors
    /// [`ConnectError::Io`] when the listener's address cannot be read.
    pub fn serve(&self, listener: Box<dyn TcpListener>) -> Result<WebSocketListener, ConnectError> {
        let runtime = self.runtime_or_default()?;
        Ok(wintergreen_connect::serve(
            &runtime,
            listener,
            self.options.clone(),
        )?)
    }

    /// Accepts one connection the caller accepted, telling the HTTP version by TLS ALPN or
    /// by its first bytes (h2c prior knowledge), within the handshake timeout. See
    /// [`wintergreen_connect::accept_connection`].
    ///
    /// # Errors
    /// See [`ConnectError`]; a refusal has been written to the client.
    pub async fn accept_connection(
        &self,
        tcp: TcpStream,
    ) -> Result<AcceptedConnection, ConnectError> {
        let runtime = self.runtime_or_default()?;
        wintergreen_connect::accept_connection(&runtime, tcp, &self.options).await
    }

    /// Serves WebSockets over HTTP/2 (RFC 8441; h2c, or TLS after ALPN `h2`) on an
    /// incoming byte stream.
    ///
    /// # Errors
    /// See [`ConnectError`].
    #[cfg(feature = "http2")]
    pub async fn accept_http2<IO>(
        &self,
        io: IO,
    ) -> Result<wintergreen_connect::http2::Http2Acceptor, ConnectError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let runtime = self.runtime_or_default()?;
        wintergreen_connect::http2::accept(&runtime, io, &self.options).await
    }
}
