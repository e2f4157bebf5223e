//! Shared test helpers: a runtime that sleeps and spawns on tokio, with no sockets (the
//! pipes are in memory), a driver over any pipe with the default configuration, and a pipe
//! end that counts writes.
#![allow(dead_code, unreachable_pub)]

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use wintergreen_codec::{Config, Role, Session};
use wintergreen_stream::{BoxFuture, Runtime, Sleep, StreamConfig, WebSocketStream};

#[derive(Debug)]
pub struct TestRuntime;

impl Runtime for TestRuntime {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
}

/// A driver in `role` over `io`, with default configurations and [`TestRuntime`].
pub fn stream<IO>(io: IO, role: Role) -> WebSocketStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    WebSocketStream::from_session(
        io,
        Session::new(role, Config::default()),
        StreamConfig::default(),
        Some(Arc::new(TestRuntime)),
    )
}

/// A pipe end that counts the writes that moved bytes.
pub struct CountingIo {
    pub io: DuplexStream,
    pub writes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
