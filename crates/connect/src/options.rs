//! The connection settings, one shape for every runtime and HTTP version:
//! [`ClientOptions`] and [`ServerOptions`], with one set of defaults.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Request, Uri};
use wintergreen_codec::{Config, ExtensionFactory};
use wintergreen_http1::{ClientConfig, ServerConfig};
use wintergreen_stream::{KeepAlive, StreamConfig};

use crate::error::ConnectError;

/// Everything a client connection is made with. Build it with the methods below, starting
/// from [`ClientOptions::default`].
///
/// With the `deflate` feature, the default offers permessage-deflate (RFC 7692;
/// `client_max_window_bits`, context takeover, level 1); [`no_extensions`](Self::no_extensions)
/// opts out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Handshake and session settings (subprotocols, extensions, headers, limits).
    pub client: ClientConfig,
    /// Driver settings (write buffer, keep-alive).
    pub stream: StreamConfig,
    /// Bound on DNS resolution plus TCP connect. Default: 30 s.
    pub connect_timeout: Duration,
    /// Bound on the TLS handshake, and again on the opening handshake. Default: 30 s.
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
    /// [`ClientOptions::http2`]; the server name (SNI) always comes from the URL's host.
    #[cfg(feature = "rustls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut client = ClientConfig::default();
        #[cfg(feature = "deflate")]
        client.extensions.push(Arc::new(
            wintergreen_deflate::DeflateFactory::client_default(),
        ));
        Self {
            client,
            stream: StreamConfig::default(),
            connect_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(30),
            http2: Http2Mode::Off,
            #[cfg(feature = "http2")]
            http2_settings: wintergreen_http2::Http2Config::default(),
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
    /// CONNECT, fall back to HTTP/1.1 (on the same TLS connection when ALPN picked
    /// `http/1.1`, else on a new connection).
    Prefer,
    /// HTTP/2 only: a server without it fails the connect with
    /// [`ConnectError::Http2`](crate::ConnectError).
    Require,
}

impl ClientOptions {
    /// Adds a header to the upgrade request.
    ///
    /// # Errors
    /// [`ConnectError::InvalidRequest`] when the name or value is not valid HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, ConnectError> {
        let name = HeaderName::try_from(name).map_err(ConnectError::invalid_request)?;
        let value = HeaderValue::try_from(value).map_err(ConnectError::invalid_request)?;
        self.client.headers.append(name, value);
        Ok(self)
    }

    /// Offers a subprotocol (in order of preference). Default: none.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.client.subprotocols.push(protocol.into());
        self
    }

    /// Offers an extension, after those already offered. Default: permessage-deflate with
    /// the `deflate` feature, else none.
    #[must_use]
    pub fn extension(mut self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.client.extensions.push(factory);
        self
    }

    /// Offers no extension at all (opts out of the default permessage-deflate).
    #[must_use]
    pub fn no_extensions(mut self) -> Self {
        self.client.extensions.clear();
        self
    }

    /// Session limits and behaviour (frame/message size, fragments, close timeout, …).
    /// Default: [`Config::default`].
    #[must_use]
    pub fn session(mut self, config: Config) -> Self {
        self.client.session = config;
        self
    }

    /// Largest message accepted, in bytes. Default: as [`Config::default`].
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.client.session.max_message_size = bytes;
        self
    }

    /// Largest frame accepted, in bytes. Default: as [`Config::default`].
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.client.session.max_frame_size = bytes;
        self
    }

    /// How long the close handshake may take. Default: as [`Config::default`].
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.client.session.close_timeout = timeout;
        self
    }

    /// Keep-alive pings (the session's
    /// [`Config::keepalive`](wintergreen_codec::Config::keepalive)). Default: off.
    #[must_use]
    pub fn keepalive(mut self, keepalive: KeepAlive) -> Self {
        self.client.session.keepalive = Some(keepalive);
        self
    }

    /// Driver settings. Default: [`StreamConfig::default`].
    #[must_use]
    pub fn stream(mut self, config: StreamConfig) -> Self {
        self.stream = config;
        self
    }

    /// Bound on DNS resolution plus TCP connect. Default: 30 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on the TLS handshake and on the opening handshake. Default: 30 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Whether to use HTTP/2 (RFC 8441): off, preferred (with fallback to HTTP/1.1), or
    /// required. Default: [`Http2Mode::Off`].
    #[must_use]
    pub fn http2(mut self, mode: Http2Mode) -> Self {
        self.http2 = mode;
        self
    }

    /// A custom TLS client configuration for `wss://` (feature `rustls`), e.g. with a
    /// private root store. Default: the enabled features' roots. See
    /// [`ClientOptions::tls`](#structfield.tls).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }
}

/// Everything a server connection is accepted with.
///
/// With the `deflate` feature, the default accepts permessage-deflate when a client offers
/// it; [`no_extensions`](Self::no_extensions) opts out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Handshake policy and session settings.
    pub server: ServerConfig,
    /// Driver settings.
    pub stream: StreamConfig,
    /// Bound on reading and answering the upgrade request (cuts off slow clients), and on
    /// an HTTP/2 connection's preface. Default: 10 s.
    pub handshake_timeout: Duration,
    /// HTTP/2 connection settings for h2c/h2 servers. Default:
    /// [`Http2Config::default`](wintergreen_http2::Http2Config::default).
    #[cfg(feature = "http2")]
    pub http2_settings: wintergreen_http2::Http2Config,
}

impl Default for ServerOptions {
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut server = ServerConfig::default();
        #[cfg(feature = "deflate")]
        {
            server.policy = server.policy.extension(Arc::new(
                wintergreen_deflate::DeflateFactory::server_default(),
            ));
        }
        Self {
            server,
            stream: StreamConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "http2")]
            http2_settings: wintergreen_http2::Http2Config::default(),
        }
    }
}

impl ServerOptions {
    /// Accepts no extension at all (opts out of the default permessage-deflate).
    #[must_use]
    pub fn no_extensions(mut self) -> Self {
        self.server.policy = self.server.policy.no_extensions();
        self
    }
}

/// What can name a WebSocket to connect to: a URL string, an [`http::Uri`], or a full
/// [`http::Request<()>`] carrying extra headers.
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
            .map_err(ConnectError::invalid_request)?
            .into_client_request()
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
