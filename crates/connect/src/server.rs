//! The server side: accepting a WebSocket on a connection the caller accepted, on any
//! runtime, bounded by the handshake timeout.

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use wintergreen_stream::{Runtime, WebSocketStream, timeout_at};

use crate::client::deadline;
use crate::error::{ConnectError, TimeoutKind};
use crate::http1::{DRAIN_TIME, ServerOutcome, drain, upgrade_server};
use crate::options::ServerOptions;

/// Accepts a WebSocket (HTTP/1.1 upgrade) on an incoming byte stream (TCP, TLS, …; a
/// futures-io stream goes through [`compat`](wintergreen_stream::compat)).
///
/// Returns the stream and the client's upgrade request. With the `deflate` feature the
/// default [`ServerOptions`] accept permessage-deflate.
///
/// # Errors
/// An invalid or refused upgrade request (the rejection has been written), I/O, or
/// [`TimeoutKind::Handshake`] (which cuts off slow clients).
pub async fn accept<IO>(
    runtime: &Arc<dyn Runtime>,
    io: IO,
    options: &ServerOptions,
) -> Result<(WebSocketStream<IO>, Request<()>), ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    accept_within(runtime, io, options, options.accept.handshake_timeout).await
}

/// [`accept`] bounded by `timeout` (what is left of the handshake timeout after TLS and
/// the HTTP-version detection).
pub(crate) async fn accept_within<IO>(
    runtime: &Arc<dyn Runtime>,
    io: IO,
    options: &ServerOptions,
    timeout: Duration,
) -> Result<(WebSocketStream<IO>, Request<()>), ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Boxed: the handshake's state (buffers, parser; about 3.5 KiB) would otherwise be
    // part of every caller's task for the connection's whole life, since a task's size is
    // that of its largest state. Boxed, it is freed once the WebSocket is open.
    let handshake = Box::pin(upgrade_server(
        io,
        options.upgrade_config(),
        options.driver.clone(),
        Some(Arc::clone(runtime)),
    ));
    let deadline = deadline(&**runtime, timeout);
    let upgraded = timeout_at(&**runtime, deadline, handshake)
        .await
        .ok_or(ConnectError::Timeout(TimeoutKind::Handshake))??;
    match upgraded {
        ServerOutcome::Open(accepted) => Ok(*accepted),
        // The rejection is answered: drain outside the deadline's cut, so that a drain the
        // deadline ends keeps the request's typed error (not a handshake timeout), within the
        // same deadline, so that the handshake timeout still bounds the whole connection.
        ServerOutcome::Refused { mut io, error } => {
            let until = deadline.min(runtime.now() + DRAIN_TIME);
            drain(&mut io, &**runtime, until).await;
            Err(error)
        }
    }
}
