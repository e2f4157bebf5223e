//! The HTTP/1.1 opening handshake over an async byte stream, driving the sans-IO upgrade
//! state machines of wintergreen-http1, then handing the stream to the driver.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_http1::{ClientConfig, ClientUpgrade, PendingOutput, ServerConfig, ServerUpgraded};
use wintergreen_stream::{Runtime, StreamConfig, WebSocketStream, timeout_at};

use crate::error::{ConnectError, TimeoutKind};

/// Read size during the handshake: headers are small, and bytes past them are handed to the
/// session, not lost.
const HANDSHAKE_READ: usize = 4096;

/// Runs the client side of the HTTP/1.1 upgrade over `io` and returns the connected stream
/// and the server's response.
///
/// `request` names the target (`ws://host/path` or `wss://…`) and may carry extra headers.
/// The handshake itself has no timeout: [`connect`](crate::connect) bounds it; `runtime`
/// goes to the driver (close timeout, keep-alive).
///
/// # Errors
/// I/O, or the handshake's failure (a refusal is [`ConnectError::Refused`]).
pub async fn client_handshake<IO>(
    io: IO,
    request: http::Request<()>,
    config: ClientConfig,
    stream_config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
) -> Result<(WebSocketStream<IO>, http::Response<()>), ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    client_handshake_until(io, request, config, stream_config, runtime, None).await
}

/// [`client_handshake`], bounded by `deadline` on `runtime`'s clock (no bound without
/// both). At the deadline, a refusal whose head arrived is [`ConnectError::Refused`] with
/// the body so far (a slow or endless body must not hide the status), anything else
/// [`TimeoutKind::Handshake`].
pub(crate) async fn client_handshake_until<IO>(
    mut io: IO,
    request: http::Request<()>,
    config: ClientConfig,
    stream_config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
    deadline: Option<Instant>,
) -> Result<(WebSocketStream<IO>, http::Response<()>), ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let timed_out = || ConnectError::Timeout(TimeoutKind::Handshake);
    let mut upgrade = ClientUpgrade::new(request, config)?;
    let write = async {
        while !upgrade.pending_output().is_empty() {
            let n = write_some(&mut io, upgrade.pending_output()).await?;
            upgrade.consume_output(n);
        }
        flush(&mut io).await
    };
    until(runtime.as_deref(), deadline, write)
        .await
        .ok_or_else(timed_out)??;
    let mut buf = BytesMut::with_capacity(HANDSHAKE_READ);
    let upgraded = loop {
        buf.clear();
        let read = until(runtime.as_deref(), deadline, read_some(&mut io, &mut buf)).await;
        let Some(read) = read else {
            return Err(upgrade
                .receive_timeout()
                .map_or_else(timed_out, ConnectError::from));
        };
        if read? == 0 {
            return Err(upgrade.receive_eof().into());
        }
        if let Some(upgraded) = upgrade.receive(&buf)? {
            break upgraded;
        }
    };
    tracing::debug!(status = %upgraded.response.status(), "client handshake complete");
    let stream = WebSocketStream::from_session(io, upgraded.session, stream_config, runtime);
    Ok((stream, upgraded.response))
}

/// `future`'s output, or `None` once `deadline` passed on `runtime`'s clock (unbounded
/// without both).
async fn until<F: std::future::Future>(
    runtime: Option<&dyn Runtime>,
    deadline: Option<Instant>,
    future: F,
) -> Option<F::Output> {
    match (runtime, deadline) {
        (Some(runtime), Some(deadline)) => timeout_at(runtime, deadline, future).await,
        _ => Some(future.await),
    }
}

/// Runs the server side of the HTTP/1.1 upgrade over `io`: reads the request, judges it with
/// `config`'s policy, and writes the 101 response (or the rejection, returning its error).
///
/// Returns the connected stream and the client's request.
///
/// # Errors
/// I/O, or the request's failure (the rejection has been written; with a `runtime`, what the
/// client still sends is then read and dropped for up to a second, so that it reads the
/// rejection rather than a reset).
pub async fn server_handshake<IO>(
    io: IO,
    config: ServerConfig,
    stream_config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
) -> Result<(WebSocketStream<IO>, http::Request<()>), ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    match upgrade_server(io, config, stream_config, runtime.clone()).await? {
        ServerOutcome::Open(accepted) => Ok(*accepted),
        ServerOutcome::Refused { mut io, error } => {
            if let Some(runtime) = &runtime {
                let until = runtime.now() + DRAIN_TIME;
                drain(&mut io, &**runtime, until).await;
            }
            Err(error)
        }
    }
}

/// What [`upgrade_server`] made of a request.
pub(crate) enum ServerOutcome<IO> {
    /// The 101 is written: the WebSocket and the client's request.
    Open(Box<(WebSocketStream<IO>, http::Request<()>)>),
    /// The rejection is written and our half shut down; the client's unread input is not
    /// drained yet (see [`drain`]).
    Refused {
        /// The connection, to drain.
        io: IO,
        /// The request's failure.
        error: ConnectError,
    },
}

/// The upgrade up to the answer written: [`server_handshake`] without the drain after a
/// rejection, so that a caller bounding the handshake with a deadline can drain outside it
/// and keep the rejection's typed error (a drain cut by the deadline would otherwise turn a
/// rejected request into a handshake timeout).
pub(crate) async fn upgrade_server<IO>(
    mut io: IO,
    config: ServerConfig,
    stream_config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
) -> Result<ServerOutcome<IO>, ConnectError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut upgrade = wintergreen_http1::ServerUpgrade::new(config);
    let mut buf = BytesMut::with_capacity(HANDSHAKE_READ);
    let outcome = loop {
        buf.clear();
        let n = read_some(&mut io, &mut buf).await?;
        if n == 0 {
            upgrade.receive_eof()?;
            return Err(ConnectError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some(outcome) = upgrade.receive(&buf)? {
            break outcome;
        }
    };
    match outcome {
        ServerUpgraded::Accepted(mut accepted) => {
            write_all(&mut io, accepted.pending_output()).await?;
            accepted.consume_output(usize::MAX);
            let parts = accepted
                .into_parts()
                .map_err(|_| ConnectError::Io(io::ErrorKind::WriteZero.into()))?;
            tracing::debug!(uri = %parts.request.uri(), "server handshake complete");
            let stream = WebSocketStream::from_session(io, parts.session, stream_config, runtime);
            Ok(ServerOutcome::Open(Box::new((stream, parts.request))))
        }
        ServerUpgraded::Rejected(mut rejected) => {
            write_all(&mut io, rejected.pending_output()).await?;
            rejected.consume_output(usize::MAX);
            let _ = poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await;
            let error = rejected
                .into_error()
                .map_err(|_| ConnectError::Io(io::ErrorKind::WriteZero.into()))?;
            Ok(ServerOutcome::Refused {
                io,
                error: error.into(),
            })
        }
    }
}

/// After a rejection, how long and how much of the client's unread request to read and drop.
pub(crate) const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);
const DRAIN_LIMIT: usize = 64 << 10;

/// Reads and drops what the client still sends after we answered and shut down our side,
/// bounded in bytes and by `until`: closing a socket with unread input makes the kernel
/// reset the connection, and the client could lose the rejection it has not read yet.
pub(crate) async fn drain<IO: AsyncRead + Unpin>(
    io: &mut IO,
    runtime: &dyn Runtime,
    until: std::time::Instant,
) {
    let mut buf = BytesMut::new();
    let mut total = 0;
    let read = poll_fn(|cx| {
        loop {
            buf.clear();
            buf.reserve(HANDSHAKE_READ);
            match tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, &mut buf) {
                std::task::Poll::Ready(Ok(0) | Err(_)) => return std::task::Poll::Ready(()),
                std::task::Poll::Ready(Ok(n)) => {
                    total += n;
                    if total >= DRAIN_LIMIT {
                        return std::task::Poll::Ready(());
                    }
                }
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    });
    let _ = timeout_at(runtime, until, read).await;
}

pub(crate) async fn read_some<IO: AsyncRead + Unpin>(
    io: &mut IO,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    buf.reserve(HANDSHAKE_READ);
    poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf)).await
}

async fn write_some<IO: AsyncWrite + Unpin>(io: &mut IO, data: &[u8]) -> io::Result<usize> {
    let n = poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, data)).await?;
    if n == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    Ok(n)
}

pub(crate) async fn write_all<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    mut data: &[u8],
) -> io::Result<()> {
    while !data.is_empty() {
        let n = write_some(io, data).await?;
        data = data.get(n..).unwrap_or_default();
    }
    flush(io).await
}

async fn flush<IO: AsyncWrite + Unpin>(io: &mut IO) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}
