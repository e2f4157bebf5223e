//! # wintergreen-tokio
//!
//! The tokio adapter of wintergreen: what is truly runtime-specific — DNS, TCP (with
//! `TCP_NODELAY`), timers, spawning — and the `connect`/`accept` entry points. The WebSocket
//! logic itself lives in wintergreen-stream and wintergreen-codec.
//!
//! With the `rustls` feature, `wss://` URLs connect over TLS (tokio-rustls on the ring
//! provider; roots from the `webpki-roots`/`native-roots` features or
//! `ClientOptions::tls`; SNI from the URL's host; ALPN `["h2", "http/1.1"]` when HTTP/2 is
//! asked for, `["http/1.1"]` otherwise).
//!
//! With the `http2` feature, [`connect_with`] honours [`ClientOptions::http2`] (WebSockets
//! over HTTP/2, RFC 8441, with prior knowledge for `ws://`), and the `http2` module opens
//! shared HTTP/2 connections and serves h2c.
//!
//! ```no_run
//! # async fn run() -> Result<(), wintergreen_stream::Error> {
//! use wintergreen_stream::Message;
//!
//! let (mut ws, _response) = wintergreen_tokio::connect("ws://127.0.0.1:8080/echo").await?;
//! ws.send_message(Message::text("hello")).await?;
//! if let Some(reply) = ws.next_message().await {
//!     println!("{:?}", reply?);
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

#[cfg(feature = "http2")]
pub mod http2;
mod transport;

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
pub use tokio::net::TcpStream;
pub use transport::Transport;
use wintergreen_stream::{
    ClientOptions, Error, Http2Mode, IntoClientRequest, ServerOptions, Sleep, Target, Timer,
    WebSocketStream, client_handshake, server_handshake,
};

/// The tokio-rustls crate used for `wss://`, for naming its types.
#[cfg(feature = "rustls")]
pub use tokio_rustls;

/// Timers on tokio's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// The timer to hand to [`WebSocketStream::from_session`] on tokio.
pub fn timer() -> Arc<dyn Timer> {
    Arc::new(TokioTimer)
}

/// Connects to a `ws://` (or, with the `rustls` feature, `wss://`) URL with default options.
///
/// Returns the stream and the server's `101 Switching Protocols` response.
///
/// # Errors
/// A bad URL, a failed DNS lookup or TCP connect, a refused or invalid handshake, a timeout.
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), Error> {
    connect_with(request, &ClientOptions::default()).await
}

/// Connects with explicit options (headers, subprotocols, extensions, limits, timeouts,
/// HTTP version).
///
/// With [`ClientOptions::http2`] (the `http2` feature), the WebSocket is opened over HTTP/2
/// on a connection of its own, with prior knowledge for `ws://` and through ALPN for
/// `wss://` (a server that picks `http/1.1` gets HTTP/1.1 on the same connection under
/// `Prefer`):
/// [`Prefer`](Http2Mode::Prefer) falls back to HTTP/1.1 on a new connection when the server
/// does not speak HTTP/2 or does not enable extended CONNECT;
/// [`Require`](Http2Mode::Require) fails instead. The response is then the server's 2xx
/// (or, after a fallback, its 101). To share one HTTP/2 connection between many WebSockets,
/// use `http2::connect` (with the `http2` feature).
///
/// # Errors
/// As [`connect`]; with `Require`, [`Error::ExtendedConnectDisabled`] or the HTTP/2 error;
/// without the `http2` feature, any mode but `Off` is [`Error::Http2Unavailable`];
/// `wss://` without the `rustls` feature is [`Error::TlsUnavailable`].
pub async fn connect_with(
    request: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    let target = Target::from_request(&request)?;
    if target.tls && cfg!(not(feature = "rustls")) {
        return Err(Error::TlsUnavailable);
    }
    if options.http2 != Http2Mode::Off {
        #[cfg(feature = "http2")]
        return http2::connect_websocket(request, &target, options).await;
        #[cfg(not(feature = "http2"))]
        return Err(Error::Http2Unavailable);
    }
    let (io, _) = open(&target, options, false).await?;
    handshake_with(io, request, options).await
}

/// Connects TCP and, for `wss://`, TLS (offering `h2` through ALPN when `http2`). Returns
/// the byte stream and whether HTTP/2 may be spoken on it: always for plain TCP (prior
/// knowledge), and over TLS when the server picked `h2`.
pub(crate) async fn open(
    target: &Target,
    options: &ClientOptions,
    #[allow(unused_variables)] http2: bool,
) -> Result<(Transport, bool), Error> {
    if !target.tls {
        let tcp = tcp_connect(target, options).await?;
        return Ok((Transport::from(tcp), true));
    }
    #[cfg(feature = "rustls")]
    {
        let tls = tls_connect(target, options, http2).await?;
        let h2 = wintergreen_stream::tls::negotiated_h2(tls.get_ref().1.alpn_protocol());
        Ok((Transport::from(tls), h2))
    }
    #[cfg(not(feature = "rustls"))]
    Err(Error::TlsUnavailable)
}

/// Opens a TLS connection to the target (TCP with `TCP_NODELAY`, then the TLS handshake
/// within the handshake timeout), with [`ClientOptions::tls`] or the default roots, SNI from
/// the target's host, and ALPN `["h2", "http/1.1"]` if `http2`, else `["http/1.1"]`.
///
/// # Errors
/// As [`tcp_connect`]; [`Error::Tls`] without roots; the TLS handshake's failure as
/// [`Error::Io`]; [`Error::Timeout`].
#[cfg(feature = "rustls")]
pub async fn tls_connect(
    target: &Target,
    options: &ClientOptions,
    http2: bool,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let config = wintergreen_stream::tls::client_config(options.tls.as_ref(), http2)?;
    let name = wintergreen_stream::tls::server_name(&target.host)?;
    let tcp = tcp_connect(target, options).await?;
    let connect = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
    let tls = tokio::time::timeout(options.handshake_timeout, connect)
        .await
        .map_err(|_| Error::Timeout("TLS handshake"))??;
    tracing::debug!(
        host = %target.host,
        alpn = ?tls.get_ref().1.alpn_protocol().map(String::from_utf8_lossy),
        "TLS established"
    );
    Ok(tls)
}

/// Opens a TCP connection to the target, with `TCP_NODELAY` (WebSocket frames are
/// latency-sensitive; the driver batches writes itself).
///
/// # Errors
/// DNS or connect failure, or the connect timeout.
pub async fn tcp_connect(target: &Target, options: &ClientOptions) -> Result<TcpStream, Error> {
    let connect = TcpStream::connect((target.host.as_str(), target.port));
    let tcp = tokio::time::timeout(options.connect_timeout, connect)
        .await
        .map_err(|_| Error::Timeout("connect"))??;
    tcp.set_nodelay(true)?;
    tracing::debug!(host = %target.host, port = target.port, "connected");
    Ok(tcp)
}

/// Runs the client handshake over any byte stream already connected (TCP, TLS, a pipe…).
///
/// # Errors
/// A refused or invalid handshake, I/O errors, or the handshake timeout.
pub async fn handshake_with<IO>(
    io: IO,
    request: http::Request<()>,
    options: &ClientOptions,
) -> Result<(WebSocketStream<IO>, http::Response<()>), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = client_handshake(
        io,
        request,
        options.client.clone(),
        options.stream.clone(),
        Some(timer()),
    );
    tokio::time::timeout(options.handshake_timeout, handshake)
        .await
        .map_err(|_| Error::Timeout("handshake"))?
}

/// Accepts a WebSocket on an incoming byte stream with default options.
///
/// Returns the stream and the client's upgrade request.
///
/// # Errors
/// An invalid or refused upgrade request (the rejection has been written), I/O errors, or
/// the handshake timeout (which cuts off slow clients).
pub async fn accept<IO>(io: IO) -> Result<(WebSocketStream<IO>, http::Request<()>), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
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
) -> Result<(WebSocketStream<IO>, http::Request<()>), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = server_handshake(
        io,
        options.server.clone(),
        options.stream.clone(),
        Some(timer()),
    );
    tokio::time::timeout(options.handshake_timeout, handshake)
        .await
        .map_err(|_| Error::Timeout("handshake"))?
}
