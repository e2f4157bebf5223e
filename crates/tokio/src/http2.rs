//! WebSockets over HTTP/2 (RFC 8441) on tokio: what wintergreen-http2 needs from a runtime
//! (a spawner and a timer), shared client connections, and h2c servers.
//!
//! For one WebSocket, [`connect_with`](crate::connect_with) with
//! [`ClientOptions::http2`] is enough. To open many WebSockets (and plain requests) on one
//! connection, [`connect`] gives an [`Http2Client`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), wintergreen_stream::Error> {
//! use wintergreen_stream::{ClientOptions, Message};
//!
//! let client = wintergreen_tokio::http2::connect("ws://127.0.0.1:8080", &Default::default()).await?;
//! let options = ClientOptions::default();
//! let (mut chat, _) = client.websocket(http::Request::get("ws://127.0.0.1:8080/chat").body(()).unwrap(), &options).await?;
//! let (mut feed, _) = client.websocket(http::Request::get("ws://127.0.0.1:8080/feed").body(()).unwrap(), &options).await?;
//! chat.send_message(Message::text("hello")).await?;
//! # let _ = &mut feed;
//! # Ok(()) }
//! ```
//!
//! A server accepts h2c connections with [`accept`] and takes WebSockets from the
//! [`Http2Acceptor`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), wintergreen_stream::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut acceptor = wintergreen_tokio::http2::accept(tcp, &Default::default()).await?;
//! while let Some(Ok((ws, request))) = acceptor.accept().await {
//!     tokio::spawn(async move { /* use ws */ drop((ws, request)); });
//! }
//! # Ok(()) }
//! ```

use tokio::io::{AsyncRead, AsyncWrite};
pub use wintergreen_http2::{
    AcceptedWebSocket, BoxFuture, Executor, H2Stream, Http2Acceptor, Http2Client, Http2Config,
    Http2Upgraded, Incoming, OtherRequests, PlainRequest,
};
use wintergreen_stream::{
    ClientOptions, Error, Http2Mode, IntoClientRequest, ServerOptions, Target, WebSocketStream,
};

use crate::transport::Transport;
use crate::{handshake_with, open, timer};

/// Spawns HTTP/2 connection tasks on the current tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioExecutor;

impl Executor for TokioExecutor {
    fn execute(&self, future: BoxFuture) {
        tokio::spawn(future);
    }
}

/// Opens an HTTP/2 connection to a URL's host and port — with prior knowledge (h2c) for
/// `ws://`/`http://`, through TLS with ALPN `h2` for `wss://`/`https://` (the `rustls`
/// feature) — and checks that the server enables extended CONNECT.
///
/// # Errors
/// A bad URL, DNS/TCP/TLS failure, [`Error::ExtendedConnectDisabled`], or the HTTP/2 error
/// when the server does not speak HTTP/2 or did not pick it through ALPN (inside
/// [`Error::Http2`]).
pub async fn connect(
    url: impl IntoClientRequest,
    config: &Http2Config,
) -> Result<Http2Client, Error> {
    let request = url.into_client_request()?;
    let target = Target::from_request(&request)?;
    let options = ClientOptions::default();
    let (io, h2) = open(&target, &options, true).await?;
    if !h2 {
        return Err(no_h2_alpn());
    }
    handshake(io, config).await
}

fn no_h2_alpn() -> Error {
    Error::Http2("the TLS server did not pick h2 through ALPN".into())
}

/// Starts a client HTTP/2 connection over any connected byte stream (TCP, TLS after ALPN
/// `h2`, ...), on tokio.
///
/// # Errors
/// As [`connect`], less the connecting.
pub async fn handshake<IO>(io: IO, config: &Http2Config) -> Result<Http2Client, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Ok(Http2Client::handshake(io, config, &TokioExecutor, Some(timer())).await?)
}

/// Serves WebSockets over HTTP/2 on an incoming byte stream (h2c: the client speaks HTTP/2
/// with prior knowledge), with default HTTP/2 settings.
///
/// # Errors
/// A client that does not speak HTTP/2, or the handshake timeout.
pub async fn accept<IO>(io: IO, options: &ServerOptions) -> Result<Http2Acceptor, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_with(io, options, &Http2Config::default()).await
}

/// Serves WebSockets over HTTP/2 with explicit HTTP/2 settings (windows, stream limits,
/// backlog, what to do with other requests).
///
/// # Errors
/// As [`accept`].
pub async fn accept_with<IO>(
    io: IO,
    options: &ServerOptions,
    config: &Http2Config,
) -> Result<Http2Acceptor, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Ok(Http2Acceptor::handshake(io, options, config, &TokioExecutor, Some(timer())).await?)
}

/// [`connect_with`](crate::connect_with) for [`Http2Mode::Prefer`] and
/// [`Http2Mode::Require`]: a connection of its own for this WebSocket (it closes when the
/// WebSocket is dropped).
pub(crate) async fn connect_websocket(
    request: http::Request<()>,
    target: &Target,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), Error> {
    let prefer = options.http2 == Http2Mode::Prefer;
    let mut config = Http2Config::default();
    config.settings_timeout = config.settings_timeout.min(options.handshake_timeout);
    let (io, h2) = open(target, options, true).await?;
    if !h2 {
        // TLS, and the server picked http/1.1: speak it on this very connection.
        if prefer {
            tracing::debug!(host = %target.host, "ALPN picked http/1.1; WebSocket over HTTP/1.1");
            return handshake_with(io, request, options).await;
        }
        return Err(no_h2_alpn());
    }
    let client = match Http2Client::handshake(io, &config, &TokioExecutor, Some(timer())).await {
        Ok(client) => client,
        Err(err) if prefer && err.is_http2_unsupported() => {
            tracing::debug!(%err, host = %target.host, port = target.port, "no WebSockets over HTTP/2 here; falling back to HTTP/1.1");
            let (io, _) = open(target, options, false).await?;
            return handshake_with(io, request, options).await;
        }
        Err(err) => return Err(err.into()),
    };
    let upgraded = client
        .upgrade(request, &options.client, options.handshake_timeout)
        .await?;
    let stream = WebSocketStream::from_session(
        Transport::from(upgraded.stream),
        upgraded.session,
        options.stream.clone(),
        Some(timer()),
    );
    Ok((stream, upgraded.response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executor_is_an_executor() {
        fn takes(_: &dyn Executor) {}
        takes(&TokioExecutor);
    }
}
