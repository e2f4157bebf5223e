//! [`WebSocketStream`]: a [`Session`] driven over an async byte stream.
//!
//! All state lives in [`Inner`], whose poll methods never hold anything across an await:
//! dropping a pending `next()` or `send()` loses nothing (cancel safety), and the split
//! halves can share one `Inner` behind a short-lived lock.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::Instant;

use bytes::BufMut;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use wintergreen_codec::{CloseCode, Event, Message, Role, Session, State, Stats};

use crate::config::StreamConfig;
use crate::error::Error;
use crate::runtime::{Runtime, Sleep};
use crate::spare;
use crate::split::{self, WebSocketReader, WebSocketWriter};

/// The most chunks of output handed to one vectored write: a header and its payload take
/// two, so this covers eight large frames (more wait for the next write).
const WRITE_SLICES: usize = 16;

/// A WebSocket connection over `IO`: a `futures_core::Stream` of received [`Message`]s and a
/// `futures_sink::Sink` of messages to send.
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
    pub(crate) session: Session,
    config: StreamConfig,
    runtime: Option<Arc<dyn Runtime>>,
    /// The sleep armed at the session's [`Session::poll_timeout`] (the only one but for a
    /// split writer half's while it closes, see `split.rs`).
    sleep: Option<(Instant, SleepSlot)>,
    /// An error to report before the stream ends (an I/O failure).
    pending_error: Option<Error>,
    /// The transport is done: the stream yields its last events, then `None`.
    finished: bool,
    /// The split writer half's waker, when its write is pending (see `poll_write_output`).
    pub(crate) writer_waker: Option<Waker>,
    /// The reader's waker while reading is paused for the peer's unread answers: whoever
    /// writes some of them out wakes it (the writer half may have taken the transport's
    /// one write waker).
    reader_waker: Option<Waker>,
    /// End our half of the transport as soon as both close frames are exchanged (see
    /// [`WebSocketStream::end_write_after_close_handshake`]).
    end_write_after_close: bool,
    /// Our half of the transport was ended early (after the close handshake).
    write_ended: bool,
}

pub(crate) struct SleepSlot(Sleep);

impl std::fmt::Debug for SleepSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sleep")
    }
}

impl<IO> WebSocketStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Drives `session` over `io`, a byte stream on which the opening handshake is done.
    ///
    /// `runtime` runs the session's timers (close timeout, keep-alive, idle timeout: see
    /// [`Config`](wintergreen_codec::Config)) and tells the time; without one, none of the
    /// timers fires.
    pub fn from_session(
        io: IO,
        mut session: Session,
        config: StreamConfig,
        runtime: Option<Arc<dyn Runtime>>,
    ) -> Self {
        // Starts the session's clock: keep-alive and idle count from now.
        session.handle_timeout(clock(runtime.as_deref()));
        Self {
            inner: Inner {
                io,
                session,
                config,
                runtime,
                sleep: None,
                pending_error: None,
                finished: false,
                writer_waker: None,
                reader_waker: None,
                end_write_after_close: false,
                write_ended: false,
            },
        }
    }

    /// Ends our half of the transport (`poll_shutdown`) as soon as the close handshake is
    /// done — our close frame written and the peer's received — instead of when the
    /// session is closed, then keeps reading until the peer ends its half, bounded by the
    /// close timeout.
    ///
    /// For a client over a transport whose half-close is the WebSocket's TCP close, as an
    /// HTTP/2 stream's END_STREAM is (RFC 8441 §5, RFC 6455 §7.1.1): many HTTP/2 servers
    /// end their half only after the client ended its own. Over TCP leave it off: RFC 6455
    /// §7.1.1 wants the server to close the TCP connection first. A server ends its half
    /// this way on every transport, with or without this call (see
    /// [`Session::should_end_write`]).
    #[must_use]
    pub fn end_write_after_close_handshake(mut self) -> Self {
        self.inner.end_write_after_close = true;
        self
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

    /// This connection's counters so far (messages, bytes, frames, compression, close
    /// codes): a copy of [`Session::stats`].
    pub fn stats(&self) -> Stats {
        self.inner.session.stats()
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

    /// Sends one message and flushes it. Waits while the session's output is at or over
    /// [`Config::max_pending_output`](wintergreen_codec::Config::max_pending_output).
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
    /// ends, bounded by the close timeout when a timer is present: also while the close
    /// frame waits behind output a peer does not read (then the queued output is dropped
    /// and the error is the close timeout).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.inner.session.state() == State::Open {
            let now = self.inner.now();
            self.inner.session.close(now, code, reason)?;
        }
        std::future::poll_fn(|cx| self.inner.poll_flush_timed(cx)).await?;
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
    /// The time, from the runtime's clock (the session's timers are armed in it).
    pub(crate) fn now(&self) -> Instant {
        clock(self.runtime.as_deref())
    }

    /// Writes queued output until none is left or the transport pushes back.
    ///
    /// When the reader half gets `Pending` here it has replaced the writer half's waker in
    /// the transport (which keeps one waker per direction), so it wakes the writer to let it
    /// register again.
    fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.session.has_pending_output() {
            match self.poll_write_some(cx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written(n),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes some of the queued output, returning how many bytes went out (the caller
    /// consumes them). The output may be several chunks (a server's large payloads are
    /// queued by reference, see [`Session::pending_output`]): a transport that writes
    /// vectored gets up to [`WRITE_SLICES`] of them at once, any other one chunk per call.
    /// Output in one chunk (small messages) is written with a plain `poll_write`.
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let first = self.session.pending_output();
        if first.len() == self.session.pending_output_len() || !self.io.is_write_vectored() {
            return Pin::new(&mut self.io).poll_write(cx, first);
        }
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let filled = self.session.pending_output_vectored(&mut slices);
        Pin::new(&mut self.io).poll_write_vectored(cx, slices.get(..filled).unwrap_or_default())
    }

    /// `n` bytes of output were written: drop them, and wake a reader paused for them.
    fn written(&mut self, n: usize) {
        self.session.consume_output(n);
        if self.session.wants_read() {
            if let Some(waker) = self.reader_waker.take() {
                waker.wake();
            }
        }
    }

    #[cold]
    #[inline(never)]
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
                        // Answers (pongs, the close echo) leave without waiting on them.
                        self.flush_opportunistically(cx);
                        // The caller may not read again for a long time: an idle
                        // connection keeps no buffer (a busy one reallocates per read).
                        self.release_idle_buffers();
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
                if !self.write_ended {
                    ready!(self.poll_shutdown_transport(cx));
                }
                self.finished = true;
                continue;
            }
            // Both rules need our close sent: an open connection pays one test here.
            if !self.write_ended
                && self.session.close_sent()
                && (self.session.should_end_write()
                    || (self.end_write_after_close && self.session.close_received()))
            {
                // The close handshake is done (a server's, or one over a transport whose
                // half-close is the WebSocket's close), or we failed the connection: our
                // close frame goes out, then our half ends; reading goes on, dropping what
                // arrives, until the peer ends its half (or the close timer fires), so that
                // the peer reads all we sent before the transport goes (RFC 6455 §7.1.1).
                ready!(self.poll_shutdown_transport(cx));
                self.write_ended = true;
                continue;
            }
            self.flush_opportunistically(cx);
            if self.pending_error.is_some() {
                continue;
            }
            if self.poll_timer(cx).is_ready() {
                // A close timeout drops the output a split writer half may be waiting on.
                self.wake_writer();
                continue;
            }
            if !self.session.wants_read() {
                // The output the peer provoked is over the limit and the transport did not
                // take it (the flush above is pending and will wake us, or the writer half
                // will): read nothing, so the transport's flow control pushes back on the peer.
                self.reader_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let want = self.config.read_buffer_size.max(1);
            let buf = self.session.receive_buffer();
            if buf.capacity() == 0 {
                *buf = spare::take(want);
            }
            // The session places the room by the frame in progress (so a long frame's bytes
            // are read where they stay) and says how much this read may take.
            let limit = self.session.prepare_receive(want);
            let buf = self.session.receive_buffer();
            // A read of all the room (short frames, the common case) needs no `Limit`
            // around the buffer: its bookkeeping in `chunk_mut`/`advance_mut` cost more than
            // this comparison (callgrind).
            let polled = if limit == buf.capacity() - buf.len() {
                tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut *buf)
            } else {
                tokio_util::io::poll_read_buf(
                    Pin::new(&mut self.io),
                    cx,
                    &mut BufMut::limit(&mut *buf, limit),
                )
            };
            let Poll::Ready(read) = polled else {
                // Nothing to read: the connection may stay idle. The buffer just prepared
                // goes back to the thread's spare slot (what `release_idle_buffers` does,
                // without looking the buffer up again).
                if buf.is_empty() {
                    spare::give(buf);
                }
                self.session.release_idle_buffers();
                return Poll::Pending;
            };
            match read {
                Ok(0) => self.session.receive_eof(),
                Ok(n) => {
                    let now = self.now();
                    self.session.received(now, n);
                }
                // After the peer's close frame, a reset is as good as a clean end: the
                // close handshake is done and the server was free to drop the connection.
                Err(_) if self.session.close_received() => self.session.receive_eof(),
                Err(err) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(Error::Io(err))));
                }
            }
        }
    }

    /// The connection may go idle: its empty buffers go, the receive buffer to the
    /// thread's spare slot (taken again at the next read).
    fn release_idle_buffers(&mut self) {
        let buf = self.session.receive_buffer();
        if buf.is_empty() && buf.capacity() != 0 {
            spare::give(buf);
        }
        self.session.release_idle_buffers();
    }

    #[inline]
    fn flush_opportunistically(&mut self, cx: &mut Context<'_>) {
        // Mostly nothing is queued (it is asked before every read and after every message):
        // answered here, without the call.
        if !self.session.has_pending_output() {
            return;
        }
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

    /// Keeps one sleep armed at the session's next deadline; when it fires, hands the
    /// session the time. `Ready` when a timer fired (the session may have queued a ping or
    /// a close, or ended the connection).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        poll_timer_in(
            self.runtime.as_deref(),
            &mut self.session,
            &mut self.sleep,
            cx,
        )
    }

    /// [`poll_timer`](Self::poll_timer) on a sleep of the caller's own: the split writer
    /// half's while it closes, so that it never takes the reader half's waker off the
    /// shared sleep (a waiting reader half wakes at the same deadline on that one, and
    /// finds what the session did).
    pub(crate) fn poll_timer_on(
        &mut self,
        sleep: &mut Option<(Instant, SleepSlot)>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        poll_timer_in(self.runtime.as_deref(), &mut self.session, sleep, cx)
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.session.pending_output_len() >= self.session.config().max_pending_output {
            let n = ready!(self.poll_write_some(cx))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.written(n);
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn start_send(&mut self, message: Message) -> Result<(), Error> {
        // A data message takes no time unless a timer runs (the idle timer restarts on it):
        // without one, the clock is not read (a system-call-free read, but one per message).
        let sent = match message {
            Message::Binary(data) if self.session.poll_timeout().is_none() => {
                self.session.send_binary_bytes(data)
            }
            Message::Text(text) if self.session.poll_timeout().is_none() => {
                self.session.send_text_bytes(text)
            }
            message => {
                let now = self.now();
                self.session.send(now, message)
            }
        };
        sent.map_err(Error::Send)
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_output(cx))?;
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// [`poll_flush`](Self::poll_flush) with the session's timers running meanwhile: when
    /// the peer does not read, the close timeout still fires (and drops what is queued, so
    /// the flush then ends); a keep-alive ping or an idle close a timer queues joins the
    /// flush. For the unsplit stream, whose reader cannot be waiting at the same time.
    fn poll_flush_timed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if let Poll::Ready(flushed) = self.poll_flush(cx) {
                return Poll::Ready(flushed);
            }
            ready!(self.poll_timer(cx));
        }
    }

    /// Sink close: start the close handshake (if nobody did) and flush. The handshake
    /// completes on the reading side (which also reports a close timeout). Unbounded by
    /// itself: the callers bound it by the close timeout ([`poll_flush_timed`], or the split
    /// writer half's own sleep).
    ///
    /// [`poll_flush_timed`]: Self::poll_flush_timed
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.start_close()?;
        self.poll_flush(cx)
    }

    /// [`poll_close`](Self::poll_close) bounded by the close timeout, for the unsplit stream.
    fn poll_close_timed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.start_close()?;
        self.poll_flush_timed(cx)
    }

    /// Starts the close handshake with 1000 (Normal Closure) unless it has started.
    fn start_close(&mut self) -> Result<(), Error> {
        if self.session.state() == State::Open {
            let now = self.now();
            self.session.close(now, CloseCode::NORMAL, "")?;
        }
        Ok(())
    }
}

/// The time passed to the session: the one place the driver reads a clock.
// The runtime's clock (`Runtime::now`) takes this place when the runtime seam lands.
/// The runtime's clock, or the wall clock for a stream driven without a runtime.
fn clock(runtime: Option<&dyn Runtime>) -> Instant {
    runtime.map_or_else(Instant::now, Runtime::now)
}

/// Keeps the sleep in `slot` armed at `session`'s next deadline; when it fires, hands the
/// session the time. `Ready` when a timer fired.
#[inline(always)]
fn poll_timer_in(
    runtime: Option<&dyn Runtime>,
    session: &mut Session,
    slot: &mut Option<(Instant, SleepSlot)>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let Some(runtime) = runtime else {
        return Poll::Pending;
    };
    let Some(deadline) = session.poll_timeout() else {
        *slot = None;
        return Poll::Pending;
    };
    ready!(poll_sleep(slot, runtime, deadline, runtime.now(), cx));
    // A sleep may wake a little early by the clock's reckoning: the deadline has passed.
    session.handle_timeout(runtime.now().max(deadline));
    Poll::Ready(())
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
        self.inner.poll_close_timed(cx)
    }
}
