//! WebSockets over HTTP/2 (RFC 8441) on smol: shared client connections (h2c, or TLS
//! with ALPN `h2`) and servers.

pub use wintergreen_http2::{
    AcceptedWebSocket, BoxFuture, Executor, H2Stream, Http2Acceptor, Http2Client, Http2Config,
    Http2Upgraded, Incoming, OtherRequests, PlainRequest,
};
use wintergreen_stream::{Error, IntoClientRequest, ServerOptions};

use crate::Smol;

/// Spawns HTTP/2 connection tasks on smol.
pub type SmolExecutor = wintergreen_futures_io::http2::RuntimeExecutor<Smol>;

/// Opens an HTTP/2 connection to a URL's host (prior knowledge for `ws://`, ALPN `h2` for
/// `wss://`) and checks that the server enables extended CONNECT.
///
/// # Errors
/// A bad URL, DNS/TCP/TLS failure, [`Error::ExtendedConnectDisabled`], or the HTTP/2 error.
pub async fn connect(
    url: impl IntoClientRequest,
    config: &Http2Config,
) -> Result<Http2Client, Error> {
    wintergreen_futures_io::http2::connect::<Smol>(url, config).await
}

/// Starts a client HTTP/2 connection over any connected byte stream.
///
/// # Errors
/// As [`connect`], less the connecting.
pub async fn handshake<IO>(io: IO, config: &Http2Config) -> Result<Http2Client, Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    wintergreen_futures_io::http2::handshake::<Smol, IO>(io, config).await
}

/// Serves WebSockets over HTTP/2 on an incoming byte stream (h2c, or TLS after ALPN `h2`),
/// with default HTTP/2 settings.
///
/// # Errors
/// A client that does not speak HTTP/2, or the handshake timeout.
pub async fn accept<IO>(io: IO, options: &ServerOptions) -> Result<Http2Acceptor, Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    accept_with(io, options, &Http2Config::default()).await
}

/// Serves WebSockets over HTTP/2 with explicit HTTP/2 settings.
///
/// # Errors
/// As [`accept`].
pub async fn accept_with<IO>(
    io: IO,
    options: &ServerOptions,
    config: &Http2Config,
) -> Result<Http2Acceptor, Error>
where
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    wintergreen_futures_io::http2::accept_with::<Smol, IO>(io, options, config).await
}
