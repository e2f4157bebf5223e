//! The connection settings, one shape for every runtime and HTTP version:
//! [`ClientOptions`] and [`ServerOptions`], with one set of defaults.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Request, Uri};
use wintergreen_codec::{Config, ExtensionFactory};
use wintergreen_handshake::AcceptPolicy;
use wintergreen_http1::Limits;
use wintergreen_http1::{ClientConfig, ServerConfig};
use wintergreen_stream::StreamConfig;

use crate::connector::Connector;
use crate::error::ConnectError;
use crate::proxy::ProxyRules;

/// Everything a client connection is made with, grouped by layer: the session (codec),
/// the opening handshake, the driver, and the connection. A plain configuration struct:
/// start from [`ClientOptions::default`] and set fields. The one fluent API is the facade's
/// `ClientBuilder`, which produces this struct.
///
/// With the `deflate` feature, the default offers permessage-deflate (RFC 7692;
/// `client_max_window_bits`, context takeover, level 1); clearing
/// `handshake.extensions` opts out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Session layer: frame and message limits, close timeout, auto-pong.
    /// Default: [`Config::default`].
    pub session: Config,
    /// Handshake layer: subprotocols, extensions, extra header fields, response limits.
    pub handshake: ClientHandshakeOptions,
    /// Driver layer: read size (the output bound is the session's `max_pending_output`).
    /// Default: [`StreamConfig::default`].
    pub driver: StreamConfig,
    /// Connection layer: timeouts, HTTP version, HTTP/2 settings, TLS.
    pub connect: ConnectOptions,
}

/// A client's opening-handshake settings, for either HTTP version.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientHandshakeOptions {
    /// Subprotocols to offer, in order of preference. Default: none.
    pub subprotocols: Vec<String>,
    /// Extensions to offer, in order. Default: permessage-deflate with the `deflate`
    /// feature, else none.
    pub extensions: Vec<Arc<dyn ExtensionFactory>>,
    /// Extra header fields for the request. Default: none.
    pub headers: HeaderMap,
    /// Limits on the server's response. Default: [`Limits::default`](wintergreen_http1::Limits::default).
    pub limits: Limits,
}

/// A client's connection settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Bound on DNS resolution plus TCP connect (or the [`connector`](Self::connector)), to
    /// the target or to its proxy. Default: 30 s.
    pub connect_timeout: Duration,
    /// Bound on the TLS handshake, again on the opening handshake, and on a proxy's
    /// exchange. Default: 30 s.
    pub handshake_timeout: Duration,
    /// Whether to open the WebSocket over HTTP/2 (RFC 8441). Default: [`Http2Mode::Off`].
    /// Without the `http2` feature, any mode but `Off` fails the connect.
    pub http2: Http2Mode,
    /// HTTP/2 connection settings (windows, frame sizes, SETTINGS timeout), for a
    /// WebSocket's own connection and for shared ones alike. Default:
    /// [`Http2Config::default`](wintergreen_http2::Http2Config::default).
    #[cfg(feature = "http2")]
    pub http2_settings: wintergreen_http2::Http2Config,
    /// The TLS configuration for `wss://` (feature `rustls`): a custom root store or client
    /// certificate goes here. `None` (the default) uses the roots the enabled features
    /// provide (see [`tls`](crate::tls)). When the configuration offers no ALPN protocols,
    /// `["h2", "http/1.1"]` or `["http/1.1"]` is offered according to
    /// [`http2`](Self::http2); the server name (SNI) always comes from the URL's host.
    #[cfg(feature = "rustls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Which proxy to tunnel through, by target: [`ProxyRules::all`] for one proxy,
    /// [`ProxyRules::from_env`] for the environment's (opt-in). Default: none, whatever the
    /// environment says.
    pub proxy: ProxyRules,
    /// Connects the byte stream to the target (or to the proxy) instead of DNS and TCP.
    /// Default: `None`, the runtime's resolver and TCP connect.
    pub connector: Option<Arc<dyn Connector>>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(30),
            http2: Http2Mode::Off,
            #[cfg(feature = "http2")]
            http2_settings: wintergreen_http2::Http2Config::default(),
            #[cfg(feature = "rustls")]
            tls: None,
            proxy: ProxyRules::default(),
            connector: None,
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut handshake = ClientHandshakeOptions::default();
        #[cfg(feature = "deflate")]
        handshake.extensions.push(Arc::new(
            wintergreen_deflate::DeflateFactory::client_default(),
        ));
        Self {
            session: Config::default(),
            handshake,
            driver: StreamConfig::default(),
            connect: ConnectOptions::default(),
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
    /// CONNECT, fall back to HTTP/1.1 (on the same TLS connection when ALPN picked
    /// `http/1.1`, else on a new connection).
    Prefer,
    /// HTTP/2 only: a server without it fails the connect with
    /// [`ConnectError::Http2`](crate::ConnectError).
    Require,
}

impl ClientOptions {
    /// The sans-IO upgrade's configuration (either HTTP version): the session and
    /// handshake layers.
    pub fn upgrade_config(&self) -> ClientConfig {
        let mut config = ClientConfig::default();
        config.session = self.session.clone();
        config.subprotocols = self.handshake.subprotocols.clone();
        config.extensions = self.handshake.extensions.clone();
        config.headers = self.handshake.headers.clone();
        config.limits = self.handshake.limits;
        config
    }
}

/// Everything a server connection is accepted with, grouped by layer: the session (codec),
/// the opening handshake (policy, limits), the driver, and the connection.
///
/// With the `deflate` feature, the default accepts permessage-deflate when a client offers
/// it; `handshake.policy = handshake.policy.no_extensions()` (or the facade's
/// `ServerBuilder::no_extensions`) opts out. A plain configuration struct: the one fluent
/// API is the facade's `ServerBuilder`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Session layer: frame and message limits, close timeout, auto-pong.
    /// Default: [`Config::default`].
    pub session: Config,
    /// Handshake layer: which requests to accept, with which subprotocol and extension
    /// (default: every valid request; permessage-deflate with the `deflate` feature), and
    /// the request's limits (default: [`Limits::default`](wintergreen_http1::Limits::default)).
    pub handshake: ServerHandshakeOptions,
    /// Driver layer: read size (the output bound is the session's `max_pending_output`).
    /// Default: [`StreamConfig::default`].
    pub driver: StreamConfig,
    /// Connection layer: the handshake timeout, HTTP/2 settings, TLS and the bound on
    /// connections in their handshake.
    pub accept: AcceptOptions,
}

/// A server's opening-handshake settings, for either HTTP version.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ServerHandshakeOptions {
    /// Which requests to accept, with which subprotocol and extension.
    pub policy: AcceptPolicy,
    /// Limits on the client's request. Default: [`Limits::default`](wintergreen_http1::Limits::default).
    pub limits: Limits,
}

/// A server's connection settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcceptOptions {
    /// Bound on reading and answering the upgrade request (cuts off slow clients), and on
    /// an HTTP/2 connection's preface and first extended CONNECT (GOAWAY past it). After a
    /// refusal, what the client still sends is read and dropped for up to 1 s within this
    /// bound, so that the client reads the refusal rather than a reset; the accept's
    /// error stays the refusal's. Default: 10 s.
    pub handshake_timeout: Duration,
    /// HTTP/2 connection settings for h2c/h2 servers, among them the budget of buffered
    /// message bytes that all the WebSockets of one connection share
    /// ([`max_buffered_message_bytes`](wintergreen_http2::Http2Config::max_buffered_message_bytes),
    /// 80 MiB: what one HTTP/1.1 connection can hold at the session's default limits).
    /// Default: [`Http2Config::default`](wintergreen_http2::Http2Config::default).
    #[cfg(feature = "http2")]
    pub http2_settings: wintergreen_http2::Http2Config,
    /// The TLS configuration of a `wss://` server (feature `rustls`): its certificate
    /// chain and key. [`accept_connection`](crate::accept_connection) and
    /// [`serve`](crate::serve) run the TLS handshake first (within the handshake timeout),
    /// then ALPN picks the HTTP version: `h2` → HTTP/2 (RFC 8441), anything else →
    /// HTTP/1.1. When the configuration lists no ALPN protocols, `["h2", "http/1.1"]`
    /// (`["http/1.1"]` without the `http2` feature) is listed for it. Default: `None`
    /// (plain TCP).
    #[cfg(feature = "rustls")]
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// [`serve`](crate::serve): how many connections may be in their opening handshake (TLS,
    /// HTTP/1.1 upgrade or HTTP/2 preface) or hold an accepted WebSocket that
    /// [`WebSocketListener::accept`](crate::WebSocketListener::accept) has not taken yet,
    /// at once. Past it, no new connection is accepted (the kernel's listen backlog holds
    /// them) until one finishes. Default: 1024.
    pub max_handshakes: usize,
}

impl Default for AcceptOptions {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "http2")]
            http2_settings: wintergreen_http2::Http2Config::default(),
            #[cfg(feature = "rustls")]
            tls: None,
            max_handshakes: 1024,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut handshake = ServerHandshakeOptions::default();
        #[cfg(feature = "deflate")]
        {
            handshake.policy = handshake.policy.extension(Arc::new(
                wintergreen_deflate::DeflateFactory::server_default(),
            ));
        }
        Self {
            session: Config::default(),
            handshake,
            driver: StreamConfig::default(),
            accept: AcceptOptions::default(),
        }
    }
}

impl ServerOptions {
    /// The sans-IO HTTP/1.1 upgrade's configuration: the session and handshake layers.
    pub fn upgrade_config(&self) -> ServerConfig {
        let mut config = ServerConfig::default();
        config.session = self.session.clone();
        config.policy = self.handshake.policy.clone();
        config.limits = self.handshake.limits;
        config
    }
}

/// What can name a WebSocket to connect to: a URL string, an `http::Uri`, or a full
/// `http::Request<()>` carrying extra headers (the `http` crate is re-exported by the
/// facade as `wintergreen::http`).
pub trait IntoClientRequest {
    /// The upgrade request.
    ///
    /// # Errors
    /// [`ConnectError::InvalidRequest`] when the URL is not valid.
    fn into_client_request(self) -> Result<Request<()>, ConnectError>;
}

impl IntoClientRequest for Request<()> {
    fn into_client_request(self) -> Result<Request<()>, ConnectError> {
        Ok(self)
    }
}

impl IntoClientRequest for Uri {
    fn into_client_request(self) -> Result<Request<()>, ConnectError> {
        Request::get(self)
            .body(())
            .map_err(ConnectError::invalid_request)
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<Request<()>, ConnectError> {
        Uri::try_from(self)
            .map_err(|source| {
                ConnectError::invalid_request(InvalidUrl {
                    url: self.to_owned(),
                    source,
                })
            })?
            .into_client_request()
    }
}

/// A URL string that is not a URI (RFC 3986), inside [`ConnectError::InvalidRequest`]:
/// its message names the URL, and `http`'s reason is its [source](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("invalid WebSocket URI {url:?}: {source}")]
pub struct InvalidUrl {
    url: String,
    #[source]
    source: http::uri::InvalidUri,
}

impl InvalidUrl {
    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<Request<()>, ConnectError> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<Request<()>, ConnectError> {
        self.as_str().into_client_request()
    }
}
