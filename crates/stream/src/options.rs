//! Runtime-agnostic connection options, shared by every runtime adapter so that
//! `wintergreen::tokio`, `wintergreen::smol` and `wintergreen::async_std` have one shape.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Request, Uri};
use wintergreen_codec::{Config, ExtensionFactory};
use wintergreen_http1::{ClientConfig, ServerConfig};

use crate::config::{KeepAlive, StreamConfig};
use crate::error::Error;

/// Everything a client connection is made with. Build it with the methods below, starting
/// from [`ClientOptions::default`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Handshake and session settings (subprotocols, extensions, headers, limits).
    pub client: ClientConfig,
    /// Driver settings (write buffer, keep-alive).
    pub stream: StreamConfig,
    /// Bound on DNS resolution plus TCP connect. Default: 30 s.
    pub connect_timeout: Duration,
    /// Bound on the opening handshake (after connecting). Default: 30 s.
    pub handshake_timeout: Duration,
    /// Whether to open the WebSocket over HTTP/2 (RFC 8441). Default: [`Http2Mode::Off`].
    /// Honoured by runtime adapters built with their `http2` feature; without it, any mode
    /// but `Off` fails the connect.
    pub http2: Http2Mode,
    /// The TLS configuration for `wss://` (feature `rustls`): a custom root store or client
    /// certificate goes here. `None` (the default) uses the roots the enabled features
    /// provide (see [`tls`](crate::tls)). When the configuration offers no ALPN protocols,
    /// the adapter offers `["h2", "http/1.1"]` or `["http/1.1"]` according to
    /// [`ClientOptions::http2`]; the server name (SNI) always comes from the URL's host.
    #[cfg(feature = "rustls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            stream: StreamConfig::default(),
            connect_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(30),
            http2: Http2Mode::Off,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

/// Which HTTP version a client opens its WebSocket with.
///
/// Over HTTP/2 (RFC 8441) a WebSocket is one stream of a connection, opened with an
/// extended CONNECT request; the server must announce `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
/// For `ws://` the client speaks HTTP/2 with prior knowledge (h2c); for `wss://` it asks
/// for `h2` through TLS ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Http2Mode {
    /// HTTP/1.1 only (RFC 6455 upgrade).
    #[default]
    Off,
    /// Try HTTP/2 first; if the server does not speak it, or does not enable extended
    /// CONNECT, fall back to HTTP/1.1 on a new connection.
    Prefer,
    /// HTTP/2 only: a server without extended CONNECT fails the connect with
    /// [`Error::ExtendedConnectDisabled`]; one that does not speak HTTP/2 at all fails it
    /// with the HTTP/2 error.
    Require,
}

impl ClientOptions {
    /// Adds a header to the upgrade request.
    ///
    /// # Errors
    /// When the name or value is not valid HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let name = HeaderName::try_from(name).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let value =
            HeaderValue::try_from(value).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        self.client.headers.append(name, value);
        Ok(self)
    }

    /// Offers a subprotocol (in order of preference).
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.client.subprotocols.push(protocol.into());
        self
    }

    /// Offers an extension (e.g. permessage-deflate).
    #[must_use]
    pub fn extension(mut self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.client.extensions.push(factory);
        self
    }

    /// Offers no extension at all.
    #[must_use]
    pub fn no_extensions(mut self) -> Self {
        self.client.extensions.clear();
        self
    }

    /// Session limits and behaviour (frame/message size, fragments, close timeout, …).
    #[must_use]
    pub fn session(mut self, config: Config) -> Self {
        self.client.session = config;
        self
    }

    /// Largest message accepted.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.client.session.max_message_size = bytes;
        self
    }

    /// Largest frame accepted.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.client.session.max_frame_size = bytes;
        self
    }

    /// How long the close handshake may take.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.client.session.close_timeout = timeout;
        self
    }

    /// Keep-alive pings (the session's [`Config::keepalive`]).
    #[must_use]
    pub fn keepalive(mut self, keepalive: KeepAlive) -> Self {
        self.client.session.keepalive = Some(keepalive);
        self
    }

    /// Driver settings.
    #[must_use]
    pub fn stream(mut self, config: StreamConfig) -> Self {
        self.stream = config;
        self
    }

    /// Bound on DNS resolution plus TCP connect.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on the opening handshake.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Whether to use HTTP/2 (RFC 8441): off, preferred (with fallback to HTTP/1.1), or
    /// required.
    #[must_use]
    pub fn http2(mut self, mode: Http2Mode) -> Self {
        self.http2 = mode;
        self
    }

    /// A custom TLS client configuration for `wss://` (feature `rustls`), e.g. with a
    /// private root store. See [`ClientOptions::tls`](#structfield.tls).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }
}

/// Everything a server connection is accepted with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Handshake policy and session settings.
    pub server: ServerConfig,
    /// Driver settings.
    pub stream: StreamConfig,
    /// Bound on reading and answering the upgrade request (cuts off slow clients).
    /// Default: 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            stream: StreamConfig::default(),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// What can name a WebSocket to connect to: a URL string, an [`http::Uri`], or a full
/// [`http::Request<()>`] carrying extra headers.
pub trait IntoClientRequest {
    /// The upgrade request.
    ///
    /// # Errors
    /// When the URL is not valid.
    fn into_client_request(self) -> Result<Request<()>, Error>;
}

impl IntoClientRequest for Request<()> {
    fn into_client_request(self) -> Result<Request<()>, Error> {
        Ok(self)
    }
}

impl IntoClientRequest for Uri {
    fn into_client_request(self) -> Result<Request<()>, Error> {
        Request::get(self)
            .body(())
            .map_err(|e| Error::InvalidRequest(e.to_string()))
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<Request<()>, Error> {
        let uri = Uri::try_from(self).map_err(|e| Error::InvalidRequest(format!("{self}: {e}")))?;
        uri.into_client_request()
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<Request<()>, Error> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<Request<()>, Error> {
        self.as_str().into_client_request()
    }
}

/// Where to connect for a `ws://` or `wss://` request: host, port and whether TLS is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name or IP literal (without brackets).
    pub host: String,
    /// The port (default 80 for ws, 443 for wss).
    pub port: u16,
    /// Whether the scheme asks for TLS (`wss`, `https`).
    pub tls: bool,
}

impl Target {
    /// Reads the target from a request's URI.
    ///
    /// # Errors
    /// On a missing host or a scheme other than ws, wss, http or https.
    pub fn from_request(request: &Request<()>) -> Result<Self, Error> {
        let uri = request.uri();
        let tls = match uri.scheme_str() {
            Some("ws" | "http") => false,
            Some("wss" | "https") => true,
            Some(other) => {
                return Err(Error::InvalidRequest(format!(
                    "unsupported scheme {other:?}"
                )));
            }
            None => return Err(Error::InvalidRequest(format!("{uri}: no scheme"))),
        };
        let host = uri
            .host()
            .ok_or_else(|| Error::InvalidRequest(format!("{uri}: no host")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self { host, port, tls })
    }
}
