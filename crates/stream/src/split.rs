//! The reader and writer halves of a split [`WebSocketStream`](crate::WebSocketStream).
//!
//! Both halves share the driver behind a mutex that is held only for the duration of one
//! poll call (never across an await), so neither half waits on the other.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_codec::{Message, Stats};

use crate::driver::{Inner, SleepSlot};
use crate::error::Error;

type Shared<IO> = Arc<Mutex<Halves<IO>>>;

/// What the halves share.
#[derive(Debug)]
struct Halves<IO> {
    inner: Inner<IO>,
    /// The reader half's waker while it waits, for the writer half to wake it when its
    /// own close timer fires (the reader may be waiting on the transport alone).
    reader: Option<Waker>,
}

pub(crate) fn split<IO>(inner: Inner<IO>) -> (WebSocketReader<IO>, WebSocketWriter<IO>) {
    let shared = Arc::new(Mutex::new(Halves {
        inner,
        reader: None,
    }));
    (
        WebSocketReader {
            shared: shared.clone(),
        },
        WebSocketWriter {
            shared,
            close_sleep: None,
        },
    )
}

fn lock<IO>(shared: &Shared<IO>) -> MutexGuard<'_, Halves<IO>> {
    // A panic while holding the lock leaves the driver in a consistent state between
    // polls, so a poisoned lock is still usable.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiving half: a `futures_core::Stream` of messages. It also answers pings.
#[derive(Debug)]
pub struct WebSocketReader<IO> {
    shared: Shared<IO>,
}

/// The sending half: a `futures_sink::Sink` of messages.
#[derive(Debug)]
pub struct WebSocketWriter<IO> {
    shared: Shared<IO>,
    /// While [`Sink::poll_close`] waits on a peer that does not read: a sleep of this half's
    /// own at the session's next deadline, so that the close timeout bounds the wait without
    /// taking the reader half's waker off the shared sleep.
    close_sleep: Option<(Instant, SleepSlot)>,
}

impl<IO> WebSocketReader<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Receives the next message; `None` once the connection is closed. Cancel safe.
    pub async fn next_message(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| poll_next(&self.shared, cx)).await
    }

    /// Whether `writer` is this reader's other half.
    pub fn is_pair_of(&self, writer: &WebSocketWriter<IO>) -> bool {
        Arc::ptr_eq(&self.shared, &writer.shared)
    }

    /// The connection's counters so far, shared by both halves (takes the halves' lock
    /// briefly): see [`WebSocketStream::stats`](crate::WebSocketStream::stats).
    pub fn stats(&self) -> Stats {
        lock(&self.shared).inner.session.stats()
    }
}

impl<IO> WebSocketWriter<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// The connection's counters so far, shared by both halves (takes the halves' lock
    /// briefly): see [`WebSocketStream::stats`](crate::WebSocketStream::stats).
    pub fn stats(&self) -> Stats {
        lock(&self.shared).inner.session.stats()
    }

    /// Sends one message and flushes it.
    pub async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.with_waker(cx, |inner, cx| inner.poll_ready(cx))).await?;
        lock(&self.shared).inner.start_send(message)?;
        std::future::poll_fn(|cx| self.with_waker(cx, |inner, cx| inner.poll_flush(cx))).await
    }

    /// Runs a write-side poll, remembering this task's waker if it has to wait, so the
    /// reader can wake it after taking over the transport's write waker.
    fn with_waker<T>(
        &self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Inner<IO>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let inner = &mut lock(&self.shared).inner;
        let result = poll(inner, cx);
        if result.is_pending() {
            inner.writer_waker = Some(cx.waker().clone());
        }
        result
    }
}

/// The reader half's poll, remembering its waker while it waits (see [`Halves::reader`]).
fn poll_next<IO>(shared: &Shared<IO>, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut halves = lock(shared);
    let polled = halves.inner.poll_next_message(cx);
    if polled.is_pending()
        && !halves
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
    {
        halves.reader = Some(cx.waker().clone());
    }
    polled
}

impl<IO> Stream for WebSocketReader<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_next(&self.shared, cx)
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
        lock(&self.shared).inner.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_waker(cx, |inner, cx| inner.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let mut halves = lock(&this.shared);
        loop {
            if let Poll::Ready(closed) = halves.inner.poll_close(cx) {
                this.close_sleep = None;
                return Poll::Ready(closed);
            }
            // The close timeout drops what the peer did not take: the flush then ends, and
            // the reader half, which reports the timeout, is woken to see it.
            if halves
                .inner
                .poll_timer_on(&mut this.close_sleep, cx)
                .is_pending()
            {
                halves.inner.writer_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Some(reader) = halves.reader.take() {
                reader.wake();
            }
        }
    }
}
