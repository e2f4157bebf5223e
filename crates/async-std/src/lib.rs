//! # wintergreen-async-std
//!
//! **async-std is discontinued upstream; new code should use smol and wintergreen-smol**
//! (async-std's own successor recommendation). This adapter is kept deliberately thin for
//! existing async-std applications.
//!
//! It provides DNS and TCP (`TCP_NODELAY`), TLS for `wss://` (futures-rustls on the ring
//! provider; feature `rustls`), timers (`async_std::task::sleep`), and spawning of the
//! HTTP/2 connection driver (`async_std::task::spawn`; feature `http2`) — with the same
//! `connect`/`connect_with`/`accept`/`accept_with` shape as wintergreen-tokio, over the
//! futures-io path shared with wintergreen-smol (wintergreen-futures-io).
//!
//! ```no_run
//! # async fn run() -> Result<(), wintergreen_stream::Error> {
//! use wintergreen_stream::Message;
//!
//! let (mut ws, _response) = wintergreen_async_std::connect("ws://127.0.0.1:8080/echo").await?;
//! ws.send_message(Message::text("hello")).await?;
//! if let Some(reply) = ws.next_message().await {
//!     println!("{:?}", reply?);
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

#[cfg(feature = "http2")]
pub mod http2;

use std::io;
use std::sync::Arc;
use std::time::Instant;

pub use wintergreen_futures_io::Transport as GenericTransport;
use wintergreen_futures_io::{Compat, Runtime, Task};
use wintergreen_stream::{
    ClientOptions, Error, IntoClientRequest, ServerOptions, Sleep, Target, Timer, WebSocketStream,
};

/// The runtime's TCP stream.
pub use async_std::net::TcpStream;

/// The futures-rustls crate used for `wss://`, for naming its types.
#[cfg(feature = "rustls")]
pub use wintergreen_futures_io::futures_rustls;

/// The byte stream under a WebSocket that [`connect`] opened: TCP, TLS (`wss://`), or one
/// stream of an HTTP/2 connection; ask it which.
pub type Transport = wintergreen_futures_io::Transport<TcpStream>;

/// async-std as a [`Runtime`] for wintergreen-futures-io.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    type TcpStream = TcpStream;

    async fn tcp_connect(host: String, port: u16) -> io::Result<TcpStream> {
        TcpStream::connect((host.as_str(), port)).await
    }

    fn set_nodelay(tcp: &TcpStream) -> io::Result<()> {
        tcp.set_nodelay(true)
    }

    fn timer() -> Arc<dyn Timer> {
        timer()
    }

    fn spawn(task: Task) {
        drop(async_std::task::spawn(task));
    }
}

/// Timers on async-std's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStdTimer;

impl Timer for AsyncStdTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let duration = deadline.saturating_duration_since(Instant::now());
        Box::pin(async_std::task::sleep(duration))
    }
}

/// The timer to hand to [`WebSocketStream::from_session`] on async-std.
pub fn timer() -> Arc<dyn Timer> {
    Arc::new(AsyncStdTimer)
}

/// Connects to a `ws://` (or, with the `rustls` feature, `wss://`) URL with default options.
///
/// Returns the stream and the server's `101 Switching Protocols` response.
///
/// # Errors
/// A bad URL, a failed DNS lookup, TCP connect or TLS handshake, a refused or invalid
/// handshake, a timeout.
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), Error> {
    connect_with(request, &ClientOptions::default()).await
}

/// Connects with explicit options (headers, subprotocols, extensions, limits, timeouts,
/// HTTP version, TLS configuration), exactly as `wintergreen_tokio::connect_with` does.
///
/// # Errors
/// As [`connect`]; [`Error::Http2Unavailable`] / [`Error::TlsUnavailable`] when the build
/// lacks the `http2` / `rustls` feature.
pub async fn connect_with(
    request: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), Error> {
    wintergreen_futures_io::connect_with::<AsyncStd>(request, options).await
}

/// Opens a TCP connection to the target, with `TCP_NODELAY`.
///
/// # Errors
/// DNS or connect failure, or the connect timeout.
pub async fn tcp_connect(target: &Target, options: &ClientOptions) -> Result<TcpStream, Error> {
    wintergreen_futures_io::tcp_connect::<AsyncStd>(target, options).await
}

/// Runs the client handshake over any connected futures-io byte stream.
///
/// # Errors
/// A refused or invalid handshake, I/O errors, or the handshake timeout.
pub async fn handshake_with<IO>(
    io: IO,
    request: http::Request<()>,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Compat<IO>>, http::Response<()>), Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    use wintergreen_futures_io::FuturesAsyncReadCompatExt;
    wintergreen_futures_io::handshake_with::<AsyncStd, _>(io.compat(), request, options).await
}

/// Accepts a WebSocket on an incoming byte stream (TCP, TLS, …) with default options.
///
/// Returns the stream and the client's upgrade request.
///
/// # Errors
/// An invalid or refused upgrade request (the rejection has been written), I/O errors, or
/// the handshake timeout.
pub async fn accept<IO>(io: IO) -> Result<(WebSocketStream<Compat<IO>>, http::Request<()>), Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    accept_with(io, &ServerOptions::default()).await
}

/// Accepts with explicit options (policy, limits, timeouts).
///
/// # Errors
/// As [`accept`].
pub async fn accept_with<IO>(
    io: IO,
    options: &ServerOptions,
) -> Result<(WebSocketStream<Compat<IO>>, http::Request<()>), Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    wintergreen_futures_io::accept_with::<AsyncStd, _>(io, options).await
}
