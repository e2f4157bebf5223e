//! # wintergreen-futures-io
//!
//! The one futures-io path that wintergreen's smol and async-std adapters share. wintergreen's
//! driver is written against `tokio::io::{AsyncRead, AsyncWrite}` (the traits only);
//! sockets of the futures-io world reach it through tokio-util's
//! [`Compat`] wrapper. A runtime adapter implements the small
//! [`Runtime`] trait (connect a TCP socket, a timer, a spawn) and gets `connect`/`accept`
//! with the same shape as wintergreen-tokio's; there is no protocol logic here.
//!
//! Features: `rustls` (`wss://` via futures-rustls on the ring provider, roots from
//! `webpki-roots`/`native-roots` or `ClientOptions::tls`), `http2` (RFC 8441).
//!
//! Users normally reach this through wintergreen-smol or wintergreen-async-std.

#![deny(missing_docs)]

#[cfg(feature = "http2")]
pub mod http2;
mod transport;

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

pub use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
pub use transport::Transport;
use wintergreen_stream::{
    ClientOptions, Error, Http2Mode, IntoClientRequest, ServerOptions, Target, Timer,
    WebSocketStream, client_handshake, server_handshake,
};

/// The futures-rustls crate used for `wss://`, for naming its types.
#[cfg(feature = "rustls")]
pub use futures_rustls;

/// A boxed, sendable background task.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What a futures-io runtime supplies: connecting a TCP socket, sleeping, spawning.
pub trait Runtime: Send + Sync + 'static {
    /// The runtime's TCP stream (futures-io).
    type TcpStream: futures_io::AsyncRead
        + futures_io::AsyncWrite
        + Unpin
        + Send
        + std::fmt::Debug
        + 'static;

    /// Resolves `host` and connects to `port`.
    fn tcp_connect(
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send;

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    /// As the socket option call.
    fn set_nodelay(tcp: &Self::TcpStream) -> io::Result<()>;

    /// The runtime's timer.
    fn timer() -> Arc<dyn Timer>;

    /// Runs `task` in the background (detached).
    fn spawn(task: Task);
}

/// Runs `future` for at most `duration` on `timer`: `None` if time ran out.
pub async fn timeout<F: Future>(
    timer: &dyn Timer,
    duration: Duration,
    future: F,
) -> Option<F::Output> {
    let mut future = pin!(future);
    let Some(deadline) = Instant::now().checked_add(duration) else {
        return Some(future.await);
    };
    let mut sleep = timer.sleep_until(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Opens a TCP connection to the target within the connect timeout, with `TCP_NODELAY`.
///
/// # Errors
/// DNS or connect failure, or the connect timeout.
pub async fn tcp_connect<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
) -> Result<R::TcpStream, Error> {
    let connect = R::tcp_connect(target.host.clone(), target.port);
    let tcp = timeout(&*R::timer(), options.connect_timeout, connect)
        .await
        .ok_or(Error::Timeout("connect"))??;
    R::set_nodelay(&tcp)?;
    tracing::debug!(host = %target.host, port = target.port, "connected");
    Ok(tcp)
}

/// Opens a TLS connection (futures-rustls) to the target: TCP, then the TLS handshake within
/// the handshake timeout, with [`ClientOptions::tls`] or the default roots, SNI from the
/// host, ALPN `["h2", "http/1.1"]` if `http2`, else `["http/1.1"]`.
///
/// # Errors
/// As [`tcp_connect`]; [`Error::Tls`] without roots; handshake failures as [`Error::Io`].
#[cfg(feature = "rustls")]
pub async fn tls_connect<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
    http2: bool,
) -> Result<futures_rustls::client::TlsStream<R::TcpStream>, Error> {
    let config = wintergreen_stream::tls::client_config(options.tls.as_ref(), http2)?;
    let name = wintergreen_stream::tls::server_name(&target.host)?;
    let tcp = tcp_connect::<R>(target, options).await?;
    let connect = futures_rustls::TlsConnector::from(config).connect(name, tcp);
    let tls = timeout(&*R::timer(), options.handshake_timeout, connect)
        .await
        .ok_or(Error::Timeout("TLS handshake"))??;
    tracing::debug!(
        host = %target.host,
        alpn = ?tls.get_ref().1.alpn_protocol().map(String::from_utf8_lossy),
        "TLS established"
    );
    Ok(tls)
}

/// TCP, or TLS for `wss://`; and whether HTTP/2 may be spoken on it (always over TCP, by
/// prior knowledge; over TLS when ALPN picked `h2`).
pub(crate) async fn open<R: Runtime>(
    target: &Target,
    options: &ClientOptions,
    #[allow(unused_variables)] http2: bool,
) -> Result<(Transport<R::TcpStream>, bool), Error> {
    if !target.tls {
        let tcp = tcp_connect::<R>(target, options).await?;
        return Ok((Transport::from_tcp(tcp), true));
    }
    #[cfg(feature = "rustls")]
    {
        let tls = tls_connect::<R>(target, options, http2).await?;
        let h2 = wintergreen_stream::tls::negotiated_h2(tls.get_ref().1.alpn_protocol());
        Ok((Transport::from_tls(tls), h2))
    }
    #[cfg(not(feature = "rustls"))]
    Err(Error::TlsUnavailable)
}

/// Connects to a `ws://` or `wss://` URL with explicit options, as wintergreen-tokio's
/// `connect_with` does.
///
/// # Errors
/// A bad URL, DNS/TCP/TLS failure, a refused or invalid handshake, a timeout;
/// [`Error::TlsUnavailable`] / [`Error::Http2Unavailable`] when the build lacks the feature.
pub async fn connect_with<R: Runtime>(
    request: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport<R::TcpStream>>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    let target = Target::from_request(&request)?;
    if target.tls && cfg!(not(feature = "rustls")) {
        return Err(Error::TlsUnavailable);
    }
    if options.http2 != Http2Mode::Off {
        #[cfg(feature = "http2")]
        return http2::connect_websocket::<R>(request, &target, options).await;
        #[cfg(not(feature = "http2"))]
        return Err(Error::Http2Unavailable);
    }
    let (io, _) = open::<R>(&target, options, false).await?;
    handshake_with::<R, _>(io, request, options).await
}

/// Runs the client handshake over a byte stream already connected (tokio-io traits; wrap a
/// futures-io stream with [`FuturesAsyncReadCompatExt::compat`]).
///
/// # Errors
/// A refused or invalid handshake, I/O errors, or the handshake timeout.
pub async fn handshake_with<R, IO>(
    io: IO,
    request: http::Request<()>,
    options: &ClientOptions,
) -> Result<(WebSocketStream<IO>, http::Response<()>), Error>
where
    R: Runtime,
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let timer = R::timer();
    let handshake = client_handshake(
        io,
        request,
        options.client.clone(),
        options.stream.clone(),
        Some(Arc::clone(&timer)),
    );
    timeout(&*timer, options.handshake_timeout, handshake)
        .await
        .ok_or(Error::Timeout("handshake"))?
}

/// Accepts a WebSocket on an incoming futures-io byte stream (TCP, TLS, …) with explicit
/// options. Returns the stream and the client's upgrade request.
///
/// # Errors
/// An invalid or refused upgrade request (the rejection has been written), I/O errors, or
/// the handshake timeout.
pub async fn accept_with<R, IO>(
    io: IO,
    options: &ServerOptions,
) -> Result<(WebSocketStream<Compat<IO>>, http::Request<()>), Error>
where
    R: Runtime,
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let timer = R::timer();
    let handshake = server_handshake(
        io.compat(),
        options.server.clone(),
        options.stream.clone(),
        Some(Arc::clone(&timer)),
    );
    timeout(&*timer, options.handshake_timeout, handshake)
        .await
        .ok_or(Error::Timeout("handshake"))?
}
