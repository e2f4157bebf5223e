//! The reader and writer halves of a split [`WebSocketStream`](crate::WebSocketStream).
//!
//! Both halves share the driver behind a mutex that is held only for the duration of one
//! poll call (never across an await), so neither half waits on the other.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_codec::{Message, Stats};

use crate::driver::Inner;
use crate::error::Error;

type Shared<IO> = Arc<Mutex<Inner<IO>>>;

pub(crate) fn split<IO>(inner: Inner<IO>) -> (WebSocketReader<IO>, WebSocketWriter<IO>) {
    let shared = Arc::new(Mutex::new(inner));
    (
        WebSocketReader {
            shared: shared.clone(),
        },
        WebSocketWriter { shared },
    )
}

fn lock<IO>(shared: &Shared<IO>) -> MutexGuard<'_, Inner<IO>> {
    // A panic while holding the lock leaves the driver in a consistent state between
    // polls, so a poisoned lock is still usable.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiving half: a [`Stream`] of messages. It also answers pings.
#[derive(Debug)]
pub struct WebSocketReader<IO> {
    shared: Shared<IO>,
}

/// The sending half: a [`Sink`] of messages.
#[derive(Debug)]
pub struct WebSocketWriter<IO> {
    shared: Shared<IO>,
}

impl<IO> WebSocketReader<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Receives the next message; `None` once the connection is closed. Cancel safe.
    pub async fn next_message(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| lock(&self.shared).poll_next_message(cx)).await
    }

    /// Whether `writer` is this reader's other half.
    pub fn is_pair_of(&self, writer: &WebSocketWriter<IO>) -> bool {
        Arc::ptr_eq(&self.shared, &writer.shared)
    }

    /// The connection's counters so far, shared by both halves (takes the halves' lock
    /// briefly): see [`WebSocketStream::stats`](crate::WebSocketStream::stats).
    pub fn stats(&self) -> Stats {
        lock(&self.shared).session.stats()
    }
}

impl<IO> WebSocketWriter<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// The connection's counters so far, shared by both halves (takes the halves' lock
    /// briefly): see [`WebSocketStream::stats`](crate::WebSocketStream::stats).
    pub fn stats(&self) -> Stats {
        lock(&self.shared).session.stats()
    }

    /// Sends one message and flushes it.
    pub async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.with_waker(cx, |inner, cx| inner.poll_ready(cx))).await?;
        lock(&self.shared).start_send(message)?;
        std::future::poll_fn(|cx| self.with_waker(cx, |inner, cx| inner.poll_flush(cx))).await
    }

    /// Runs a write-side poll, remembering this task's waker if it has to wait, so the
    /// reader can wake it after taking over the transport's write waker.
    fn with_waker<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Inner<IO>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let mut inner = lock(&self.shared);
        let result = poll(&mut inner, cx);
        if result.is_pending() {
            inner.writer_waker = Some(cx.waker().clone());
        }
        result
    }
}

impl<IO> Stream for WebSocketReader<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_next_message(cx)
    }
}

impl<IO> Sink<Message> for WebSocketWriter<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_waker(cx, |inner, cx| inner.poll_ready(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_waker(cx, |inner, cx| inner.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_waker(cx, |inner, cx| inner.poll_close(cx))
    }
}
