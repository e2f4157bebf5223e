//! [`ClientBuilder`]: a URL plus options, connected on the default runtime.

use std::sync::Arc;
use std::time::Duration;

use wintergreen_codec::ExtensionFactory;
use wintergreen_connect::{ClientOptions, ConnectError as Error, Http2Mode, IntoClientRequest};
use wintergreen_stream::KeepAlive;

/// Builds a client connection: headers, subprotocols, limits and timeouts.
///
/// ```no_run
/// # async fn run() -> Result<(), wintergreen::ConnectError> {
/// let (ws, response) = wintergreen::ClientBuilder::new("ws://127.0.0.1:9001/chat")
///     .header("Authorization", "Bearer token")
///     .subprotocol("chat.v1")
///     .max_message_size(1 << 20)
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    request: Result<http::Request<()>, Error>,
    options: Result<ClientOptions, Error>,
}

impl ClientBuilder {
    /// Starts from a URL (`ws://` or `wss://`), an [`http::Uri`] or an
    /// [`http::Request<()>`].
    pub fn new(request: impl IntoClientRequest) -> Self {
        Self {
            request: request.into_client_request(),
            options: Ok(ClientOptions::default()),
        }
    }

    fn map(mut self, f: impl FnOnce(ClientOptions) -> Result<ClientOptions, Error>) -> Self {
        self.options = self.options.and_then(f);
        self
    }

    /// Adds a header to the upgrade request. An invalid name or value makes
    /// [`connect`](Self::connect) fail with [`Error::InvalidRequest`].
    #[must_use]
    pub fn header(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.map(move |options| options.header(&name, &value))
    }

    /// Offers a subprotocol; call again for more, in order of preference.
    #[must_use]
    pub fn subprotocol(self, protocol: impl Into<String>) -> Self {
        let protocol = protocol.into();
        self.map(|options| Ok(options.subprotocol(protocol)))
    }

    /// Offers an extension.
    #[must_use]
    pub fn extension(self, factory: Arc<dyn ExtensionFactory>) -> Self {
        self.map(|options| Ok(options.extension(factory)))
    }

    /// Largest message accepted.
    #[must_use]
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.map(|options| Ok(options.max_message_size(bytes)))
    }

    /// Largest frame accepted.
    #[must_use]
    pub fn max_frame_size(self, bytes: usize) -> Self {
        self.map(|options| Ok(options.max_frame_size(bytes)))
    }

    /// Bound on DNS plus TCP connect.
    #[must_use]
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|options| Ok(options.connect_timeout(timeout)))
    }

    /// Bound on the opening handshake.
    #[must_use]
    pub fn handshake_timeout(self, timeout: Duration) -> Self {
        self.map(|options| Ok(options.handshake_timeout(timeout)))
    }

    /// Bound on the close handshake.
    #[must_use]
    pub fn close_timeout(self, timeout: Duration) -> Self {
        self.map(|options| Ok(options.close_timeout(timeout)))
    }

    /// Keep-alive pings.
    #[must_use]
    pub fn keepalive(self, keepalive: KeepAlive) -> Self {
        self.map(|options| Ok(options.keepalive(keepalive)))
    }

    /// Whether to open the WebSocket over HTTP/2 (RFC 8441; needs the `http2` feature):
    /// [`Http2Mode::Prefer`] falls back to HTTP/1.1, [`Http2Mode::Require`] does not.
    #[must_use]
    pub fn http2(self, mode: Http2Mode) -> Self {
        self.map(|options| Ok(options.http2(mode)))
    }

    /// Replaces all options at once.
    #[must_use]
    pub fn options(self, options: ClientOptions) -> Self {
        self.map(|_| Ok(options))
    }

    /// The request and options, ready for any runtime's `connect_with`.
    ///
    /// # Errors
    /// A bad URL, header name or value.
    pub fn build(self) -> Result<(http::Request<()>, ClientOptions), Error> {
        Ok((self.request?, self.options?))
    }

    /// Connects on the default runtime (tokio).
    ///
    /// # Errors
    /// As [`connect`](crate::connect).
    #[cfg(feature = "runtime-tokio")]
    pub async fn connect(
        self,
    ) -> Result<
        (
            wintergreen_stream::WebSocketStream<wintergreen_connect::Transport>,
            http::Response<()>,
        ),
        Error,
    > {
        let (request, options) = self.build()?;
        crate::tokio::connect_with(request, &options).await
    }
}
