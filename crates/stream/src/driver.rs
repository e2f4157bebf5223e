//! [`WebSocketStream`]: a [`Session`] driven over an async byte stream.
//!
//! All state lives in [`Inner`], whose poll methods never hold anything across an await:
//! dropping a pending `next()` or `send()` loses nothing (cancel safety), and the split
//! halves can share one `Inner` behind a short-lived lock.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::Instant;

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_codec::{CloseCode, Event, Message, Role, Session, State};

use crate::config::StreamConfig;
use crate::error::Error;
use crate::runtime::{Runtime, Sleep};
use crate::split::{self, WebSocketReader, WebSocketWriter};

/// A WebSocket connection over `IO`: a [`Stream`] of received [`Message`]s and a [`Sink`]
/// of messages to send.
///
/// Received pings are answered automatically (and also yielded). The peer's close frame is
/// yielded as [`Message::Close`]; the stream ends (`None`) once the transport is closed.
/// Sending [`Message::Close`] (or closing the sink) starts the close handshake; keep reading
/// to see it finish.
#[derive(Debug)]
pub struct WebSocketStream<IO> {
    pub(crate) inner: Inner<IO>,
}

/// The driver's state, shared by the split halves.
#[derive(Debug)]
pub(crate) struct Inner<IO> {
    io: IO,
    session: Session,
    config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
    close_sleep: Option<(Instant, SleepSlot)>,
    keepalive: Option<KeepAliveState>,
    /// Keep-alive pings sent whose pongs have not come back: those pongs are the driver's,
    /// not the application's (unless [`StreamConfig::yield_keepalive_pongs`]).
    keepalive_pings: usize,
    /// An error to report before the stream ends (keep-alive timeout, I/O failure).
    pending_error: Option<Error>,
    /// The transport is done: the stream yields its last events, then `None`.
    finished: bool,
    /// The split writer half's waker, when its write is pending (see `poll_write_output`).
    pub(crate) writer_waker: Option<Waker>,
}

/// The payload of the driver's keep-alive pings, by which their pongs are known.
const KEEPALIVE_PAYLOAD: &[u8] = b"wintergreen keep-alive";

struct SleepSlot(Sleep);

impl std::fmt::Debug for SleepSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sleep")
    }
}

#[derive(Debug)]
struct KeepAliveState {
    next_ping: Instant,
    last_seen: Instant,
    sleep: Option<(Instant, SleepSlot)>,
}

impl<IO> WebSocketStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Drives `session` over `io`, a byte stream on which the opening handshake is done.
    ///
    /// `runtime` bounds the close handshake and runs keep-alive; without one, neither runs.
    pub fn from_session(
        io: IO,
        session: Session,
        config: StreamConfig,
        runtime: Option<Arc<dyn Runtime>>,
    ) -> Self {
        let keepalive = match (&config.keepalive, &runtime) {
            (Some(keepalive), Some(runtime)) => {
                let now = runtime.now();
                Some(KeepAliveState {
                    next_ping: now + keepalive.interval,
                    last_seen: now,
                    sleep: None,
                })
            }
            _ => None,
        };
        Self {
            inner: Inner {
                io,
                session,
                config,
                runtime,
                close_sleep: None,
                keepalive,
                keepalive_pings: 0,
                pending_error: None,
                finished: false,
                writer_waker: None,
            },
        }
    }

    /// Splits into a reader and a writer that two tasks can use at once.
    pub fn split(self) -> (WebSocketReader<IO>, WebSocketWriter<IO>) {
        split::split(self.inner)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.inner.session.role()
    }

    /// The protocol state.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// The underlying byte stream.
    pub fn get_ref(&self) -> &IO {
        &self.inner.io
    }

    /// Receives the next message; `None` once the connection is closed.
    ///
    /// Cancel safe: dropping the future loses no data.
    pub async fn next_message(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.inner.poll_next_message(cx)).await
    }

    /// Sends one message and flushes it. Waits while the write buffer is full.
    pub async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.inner.poll_ready(cx)).await?;
        self.inner.start_send(message)?;
        std::future::poll_fn(|cx| self.inner.poll_flush(cx)).await
    }

    /// Sends one piece of a data message that the caller fragments, and flushes it: the
    /// first call starts a message of `kind`, `fin` ends it, and control frames (and the
    /// automatic pongs) may go out in between. See
    /// [`Session::send_fragment`](wintergreen_codec::Session::send_fragment).
    pub async fn send_fragment(
        &mut self,
        kind: wintergreen_codec::DataKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.inner.poll_ready(cx)).await?;
        self.inner.session.send_fragment(kind, payload, fin)?;
        std::future::poll_fn(|cx| self.inner.poll_flush(cx)).await
    }

    /// Closes the connection properly: sends a close frame with `code` and `reason`, then
    /// reads (dropping data messages) until the peer's close arrives and the transport
    /// ends, bounded by the close timeout when a runtime is present.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.inner.session.state() == State::Open {
            self.inner.session.close(code, reason)?;
        }
        std::future::poll_fn(|cx| self.inner.poll_flush(cx)).await?;
        while let Some(item) = self.next_message().await {
            item?;
        }
        Ok(())
    }
}

impl<IO> Inner<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Writes queued output until none is left or the transport pushes back.
    ///
    /// When the reader half gets `Pending` here it has replaced the writer half's waker in
    /// the transport (which keeps one waker per direction), so it wakes the writer to let it
    /// register again.
    fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.session.has_pending_output() {
            match Pin::new(&mut self.io).poll_write(cx, self.session.pending_output()) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.session.consume_output(n),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn wake_writer(&mut self) {
        if let Some(waker) = self.writer_waker.take() {
            waker.wake();
        }
    }

    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if let Some(event) = self.session.poll_event() {
                match event {
                    Ok(Event::Message(message)) => {
                        self.saw_peer();
                        if self.is_keepalive_pong(&message) {
                            continue;
                        }
                        // Answers (pongs, the close echo) leave without waiting on them.
                        self.flush_opportunistically(cx);
                        return Poll::Ready(Some(Ok(message)));
                    }
                    Ok(_) => continue,
                    Err(err) => {
                        self.flush_opportunistically(cx);
                        return Poll::Ready(Some(Err(Error::Connection(err))));
                    }
                }
            }
            if let Some(err) = self.pending_error.take() {
                self.finished = true;
                return Poll::Ready(Some(Err(err)));
            }
            if self.finished {
                return Poll::Ready(None);
            }
            if self.session.is_closed() {
                ready!(self.poll_shutdown_transport(cx));
                self.finished = true;
                continue;
            }
            self.flush_opportunistically(cx);
            if self.pending_error.is_some() {
                continue;
            }
            if self.poll_timers(cx).is_ready() {
                continue;
            }
            let want = self.config.read_buffer_size.max(1);
            let buf = self.session.receive_buffer();
            if buf.capacity() - buf.len() < want / 2 {
                buf.reserve(want);
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, buf) {
                Poll::Ready(Ok(0)) => self.session.receive_eof(),
                Poll::Ready(Ok(_)) => {}
                // After the peer's close frame, a reset is as good as a clean end: the
                // close handshake is done and the server was free to drop the connection.
                Poll::Ready(Err(_)) if self.session.close_received() => self.session.receive_eof(),
                Poll::Ready(Err(err)) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(Error::Io(err))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn flush_opportunistically(&mut self, cx: &mut Context<'_>) {
        match self.poll_write_output(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(err)) => self.pending_error = Some(Error::Io(err)),
            Poll::Pending => self.wake_writer(),
        }
    }

    /// After the close handshake (or a failure): write what is queued, then close the
    /// transport. Errors here no longer matter to anyone.
    fn poll_shutdown_transport(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if ready!(self.poll_write_output(cx)).is_ok() {
            let _ = ready!(Pin::new(&mut self.io).poll_flush(cx));
        }
        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
        Poll::Ready(())
    }

    /// Whether `message` answers one of our keep-alive pings and is ours to drop.
    fn is_keepalive_pong(&mut self, message: &Message) -> bool {
        let ours = matches!(message, Message::Pong(payload) if payload.as_ref() == KEEPALIVE_PAYLOAD)
            && self.keepalive_pings > 0;
        if ours {
            self.keepalive_pings -= 1;
        }
        ours && !self.config.yield_keepalive_pongs
    }

    fn saw_peer(&mut self) {
        if let (Some(keepalive), Some(runtime)) = (&mut self.keepalive, &self.runtime) {
            keepalive.last_seen = runtime.now();
        }
    }

    /// Runs the close timer and keep-alive. `Ready` when one fired.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(runtime) = self.runtime.clone() else {
            return Poll::Pending;
        };
        let open = self.session.state() == State::Open;
        if !open {
            let now = runtime.now();
            if let Some(deadline) = self.session.poll_timeout(now) {
                if poll_sleep(&mut self.close_sleep, &*runtime, deadline, now, cx).is_ready() {
                    self.session.handle_timeout(runtime.now().max(deadline));
                    return Poll::Ready(());
                }
            }
        }
        let Some(interval) = self.config.keepalive.filter(|_| open) else {
            return Poll::Pending;
        };
        let Some(keepalive) = &mut self.keepalive else {
            return Poll::Pending;
        };
        let now = runtime.now();
        if poll_sleep(
            &mut keepalive.sleep,
            &*runtime,
            keepalive.next_ping,
            now,
            cx,
        )
        .is_pending()
        {
            return Poll::Pending;
        }
        if now.duration_since(keepalive.last_seen) >= interval.interval + interval.timeout {
            tracing::debug!("keep-alive timeout");
            self.pending_error = Some(Error::KeepAliveTimeout);
            return Poll::Ready(());
        }
        keepalive.next_ping = now + interval.interval;
        // A failed ping means the session is closing; the close path takes over.
        if self.session.send_ping(KEEPALIVE_PAYLOAD).is_ok() {
            self.keepalive_pings += 1;
        }
        Poll::Ready(())
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.session.pending_output().len() >= self.config.max_write_buffer {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.session.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.session.consume_output(n);
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn start_send(&mut self, message: Message) -> Result<(), Error> {
        self.session.send(message).map_err(Error::Send)
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_output(cx))?;
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Sink close: start the close handshake (if nobody did) and flush. The handshake
    /// completes on the reading side.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.session.state() == State::Open {
            self.session.close(CloseCode::NORMAL, "")?;
        }
        self.poll_flush(cx)
    }
}

/// Polls the sleep in `slot` for `deadline`, creating it when the deadline changed.
fn poll_sleep(
    slot: &mut Option<(Instant, SleepSlot)>,
    runtime: &dyn Runtime,
    deadline: Instant,
    now: Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if now >= deadline {
        *slot = None;
        return Poll::Ready(());
    }
    let sleep = match slot {
        Some((at, sleep)) if *at == deadline => sleep,
        _ => {
            &mut slot
                .insert((deadline, SleepSlot(runtime.sleep_until(deadline))))
                .1
        }
    };
    let fired = sleep.0.as_mut().poll(cx);
    if fired.is_ready() {
        *slot = None;
    }
    fired
}

impl<IO> Stream for WebSocketStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_message(cx)
    }
}

impl<IO> Sink<Message> for WebSocketStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.inner.start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_close(cx)
    }
}
