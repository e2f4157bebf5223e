//! The sans-IO connection after the opening handshake (RFC 6455 §5–§7).
//!
//! A [`Session`] is a plain value: the caller appends bytes read from the peer, polls events,
//! queues messages, and writes out the bytes the session has queued. It never reads a clock
//! or a socket; time comes in as the `now` argument of every call that can start or move
//! a timer, and [`Session::poll_timeout`] says when to call [`Session::handle_timeout`].

mod mask_keys;
mod output;
mod recv;
mod send;

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::budget::{Charge, MessageBudget};
use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Role, TimerKind};
use crate::error::ConnectionError;
use crate::extension::Extension;
use crate::fast::text::Utf8Bytes;
use crate::frame::{FrameDecoder, FrameHeader, OpCode, Rsv};
use crate::message::{DataKind, Fragment, Message};
use crate::stats::{self, Stats};
use crate::utf8::Utf8Validator;
use mask_keys::MaskKeys;
use output::Output;
pub use output::ZERO_COPY_MIN;

/// What the session observed; drained with [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text or binary message, a ping, a pong, or the peer's close frame.
    Message(Message),
    /// A piece of a data message (only in [streaming](Config::streaming) mode).
    Fragment(Fragment),
}

/// Where the session is in its life (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; the handshake or the transport's end is pending.
    Closing,
    /// Done: write out any pending output, then close the transport.
    Closed,
}

/// Who sent the first close frame (or failed the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Initiator {
    Local,
    Peer,
}

/// The session's timers, one deadline each (quinn-proto's timer table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timers {
    /// The close handshake (or, as a client, the server's TCP close) must finish by then.
    close: Option<Instant>,
    /// Send a keep-alive ping then.
    ping: Option<Instant>,
    /// Fail the connection then unless the peer showed a sign of life.
    silence: Option<Instant>,
    /// Start closing then unless a data message crossed.
    idle: Option<Instant>,
    /// False while every deadline above is `None` (true may also mean none is left): set
    /// with each deadline, so that [`earliest`](Self::earliest), read several times per
    /// message, answers from one flag when no timer runs (the default configuration).
    armed: bool,
}

impl Timers {
    /// The earliest deadline. Read by the driver at every poll: written out rather than
    /// as an iterator chain, which cost three times the instructions (callgrind).
    #[inline]
    fn earliest(&self) -> Option<Instant> {
        if !self.armed {
            // The common case while open with the default configuration.
            return None;
        }
        #[inline]
        fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        min(min(self.close, self.ping), min(self.silence, self.idle))
    }
}

/// An idle session keeps an output buffer of at most this many bytes (see
/// [`Session::release_idle_buffers`]): room for small messages, for a burst of 32 small
/// ones, and for one message of 1 KiB with its header (a client's copy of it, masked),
/// without an allocation each. Freeing it at every idle moment cost a 20 B burst 7 % more
/// instructions per message; a bound of exactly 1 KiB freed and allocated again the 1,032
/// bytes of every client's 1 KiB message (about 300 instructions of its 4,700, callgrind).
const IDLE_OUTPUT_KEPT: usize = 1024 + FrameHeader::MAX_LEN;

/// Keep-alive pings carry this prefix and a sequence number, so their pongs are told apart.
const KEEPALIVE_TAG: &[u8; 4] = b"wgka";
/// A keep-alive ping's payload: the tag and a big-endian `u64` sequence number.
const KEEPALIVE_LEN: usize = KEEPALIVE_TAG.len() + 8;

/// A data message being received.
#[derive(Debug)]
struct Incoming {
    kind: DataKind,
    /// The negotiated extension transforms this message.
    transformed: bool,
    /// Assembled payload (whole-message mode), or the current piece (streaming mode).
    buf: BytesMut,
    /// Frames seen so far.
    fragments: usize,
    /// Payload bytes so far (after the extension).
    size: usize,
    /// Streaming mode: whether the first piece was yielded.
    started: bool,
    utf8: Utf8Validator,
}

/// A caller-driven fragmented message being sent.
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    kind: DataKind,
    transformed: bool,
}

/// A WebSocket connection's protocol state, for either role: the caller appends bytes
/// read from the peer, polls events, queues messages, and writes out the queued bytes.
///
/// The session does no I/O and reads no clock: time is passed in as `now`, and it must not
/// go backwards from one call to the next.
///
/// # When to call what
///
/// A driver (the async [`WebSocketStream`] of `wintergreen-stream` is one) loops over these,
/// in this order:
///
/// 1. **Right after creating the session**, call [`handle_timeout`](Self::handle_timeout)
///    with the current time: it starts the keep-alive and idle timers, which count from then.
/// 2. **Output**: whenever [`pending_output`](Self::pending_output) is not empty, write it to
///    the transport and call [`consume_output`](Self::consume_output) with how many bytes
///    were written (or use [`take_output`](Self::take_output)). Every call below may queue
///    output: pongs, close frames, keep-alive pings, and your own messages.
/// 3. **Input**: only while [`wants_read`](Self::wants_read) is true, read from the
///    transport and pass the bytes to [`receive`](Self::receive) with the time they arrived
///    (or read into [`receive_buffer`](Self::receive_buffer) and call
///    [`received`](Self::received)). While it is false, the output the peer provoked is over
///    [`Config::max_pending_output`]: stop reading so the transport pushes back on the peer.
///    On the transport's end of input, call [`receive_eof`](Self::receive_eof).
/// 4. **Events**: after each `receive`, call [`poll_event`](Self::poll_event) until it
///    returns `None`. Parsing happens there, one frame at a time, so input is not processed
///    until you poll.
/// 5. **Timers**: after any call that takes `now` (and after step 1), read
///    [`poll_timeout`](Self::poll_timeout) and arm one timer for that instant (replacing the
///    previous one; `None` disarms it). When it fires, call
///    [`handle_timeout`](Self::handle_timeout) with the current time, then go back to
///    steps 2 and 4: a timer may queue a ping or a close, or end the connection with an
///    event.
/// 6. **The end**: once [`should_end_write`](Self::should_end_write) is true (a server
///    after the close handshake, or after failing the connection), write out the pending
///    output and end the transport's write half (TCP `shutdown(Write)`, an HTTP/2
///    END_STREAM), but go on reading (step 3; the bytes are dropped unread) until the
///    transport's end of input or the close timer. Once [`is_closed`](Self::is_closed) is
///    true, write out the pending output and close the transport.
///
/// Sending ([`send_text`](Self::send_text), [`close`](Self::close), …) may happen at any
/// time in between; calls that can start a timer take `now`.
///
/// [`WebSocketStream`]: https://docs.rs/wintergreen-stream
///
/// ```
/// use std::time::Instant;
/// use wintergreen_codec::{Config, Event, Message, Role, Session};
///
/// let now = Instant::now();
/// let mut client = Session::new(Role::Client, Config::default());
/// let mut server = Session::new(Role::Server, Config::default());
/// client.handle_timeout(now);
/// server.handle_timeout(now);
///
/// client.send_text("hello").unwrap();
/// server.receive(now, client.pending_output());
/// client.consume_output(client.pending_output().len());
///
/// match server.poll_event() {
///     Some(Ok(Event::Message(Message::Text(text)))) => assert_eq!(text, "hello"),
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(server.poll_timeout(), None, "no timer runs by default while open");
/// ```
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: Config,
    extension: Option<Box<dyn Extension>>,

    read_buf: BytesMut,
    /// Input past the end of the frame that `read_buf` ends with, kept apart so that the
    /// frame's bytes never move to make room (see `Session::receive`); it takes over
    /// once `read_buf` is drained. The stream's bytes are `read_buf` then `next_buf`.
    next_buf: BytesMut,
    decoder: FrameDecoder,
    /// Bytes of the current frame's payload already fed to the UTF-8 validator.
    frame_validated: usize,
    incoming: Option<Incoming>,
    /// This session's share of its connection's message budget, if it has one.
    budget: Option<Charge>,
    events: VecDeque<Result<Event, ConnectionError>>,
    /// No more input is processed: a close frame arrived, or the connection failed.
    input_done: bool,

    out: Output,
    scratch: BytesMut,
    outgoing: Option<Outgoing>,
    /// Where mask keys come from: nowhere for a server, the thread's generator for a
    /// client, its own for a seeded one (see `mask_keys`).
    masks: MaskKeys,

    /// The answer to the most recent ping, kept aside while output is over the limit.
    pending_pong: Option<Bytes>,
    /// Bytes of answers to the peer's pings still queued (an estimate that errs low).
    owed: usize,

    close_sent: bool,
    close_received: bool,
    initiator: Option<Initiator>,
    /// We failed the connection for a protocol error.
    failed: bool,
    closed: bool,

    timers: Timers,
    /// The latest `now` passed in; `None` until the first.
    clock: Option<Instant>,
    /// When the bytes now being parsed arrived (the `now` of the latest `receive`).
    received_at: Option<Instant>,
    /// A data message was sent since the idle timer was last restarted.
    sent_data: bool,
    /// The close timer must start at the next `now` (it was armed before any time was known).
    close_timer_pending: bool,
    /// Sequence number of the latest keep-alive ping.
    keepalive_seq: u64,
    /// What was counted so far (times are filled in by [`Session::stats`]).
    stats: Stats,
}

impl Session {
    /// A session for `role`, right after a successful handshake.
    pub fn new(role: Role, config: Config) -> Self {
        let seed = config.mask_seed;
        Self {
            role,
            decoder: FrameDecoder::new(config.max_frame_size),
            config,
            extension: None,
            read_buf: BytesMut::new(),
            next_buf: BytesMut::new(),
            frame_validated: 0,
            incoming: None,
            budget: None,
            events: VecDeque::new(),
            input_done: false,
            out: Output::default(),
            scratch: BytesMut::new(),
            outgoing: None,
            masks: MaskKeys::new(role, seed),
            pending_pong: None,
            owed: 0,
            close_sent: false,
            close_received: false,
            initiator: None,
            failed: false,
            closed: false,
            timers: Timers::default(),
            clock: None,
            received_at: None,
            sent_data: false,
            close_timer_pending: false,
            keepalive_seq: 0,
            stats: Stats::default(),
        }
    }

    /// What this session counted so far: messages, bytes (payload, wire, compressed),
    /// frames, pings and pongs each way, close codes, and the last times it was told of.
    /// A copy, cheap to take at any time; see [`Stats`] for what each field counts.
    pub fn stats(&self) -> Stats {
        Stats {
            last_received: self.received_at,
            last_activity: self.clock,
            ..self.stats
        }
    }

    /// Seeds the generator of mask keys (RFC 6455 §5.3) for reproducible output, like
    /// [`Config::mask_seed`]. For tests and fuzz replays only.
    #[must_use]
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.masks = MaskKeys::new(self.role, Some(seed));
        self.config.mask_seed = Some(seed);
        self
    }

    /// Uses a negotiated extension (e.g. permessage-deflate) for this session.
    #[must_use]
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.extension = Some(extension);
        self
    }

    /// Counts this session's unfinished incoming message against `budget`, shared with the
    /// other sessions of the same connection (e.g. the WebSockets of one HTTP/2
    /// connection): a message that would take the budget past its limit fails this session
    /// with [`ProtocolError::BudgetExceeded`](crate::ProtocolError) (close code 1009) and
    /// leaves the others alone. See [`MessageBudget`] for what is counted.
    #[must_use]
    pub fn with_message_budget(mut self, budget: MessageBudget) -> Self {
        self.budget = Some(Charge::new(budget));
        self
    }

    /// This session's role.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// This session's configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The negotiated extension, if any.
    pub fn extension(&self) -> Option<&dyn Extension> {
        self.extension.as_deref()
    }

    /// Where the session is in its life.
    pub const fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else if self.close_sent || self.close_received {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Whether the transport should be closed now (after writing the pending output).
    pub const fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether the transport's write half should be ended now (after writing the pending
    /// output), while reading goes on until the peer ends its half or the close timer
    /// fires ([`is_closed`](Self::is_closed) then turns true).
    ///
    /// True for a server once the close handshake is done or it failed the connection:
    /// RFC 6455 §7.1.1 has the server close the TCP connection first. It ends only its
    /// write half (a TCP FIN), and lingers: a socket closed while the peer is still
    /// sending (the rest of a frame that failed the connection, say) answers the peer's
    /// next bytes with a TCP reset, and a reset can make the peer drop what it has not
    /// read yet: our last messages and the close frame. A client waits for the server's
    /// end instead (RFC 6455 §7.1.1), so this stays false for it.
    pub const fn should_end_write(&self) -> bool {
        matches!(self.role, Role::Server)
            && !self.closed
            && self.close_sent
            && (self.close_received || self.failed)
    }

    /// Whether a close frame was sent (by us, or as the answer to the peer's).
    pub const fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer's close frame arrived.
    pub const fn close_received(&self) -> bool {
        self.close_received
    }

    /// The first contiguous chunk of the bytes queued for the peer (empty when none are).
    /// Write it, then call [`consume_output`](Self::consume_output) with how many were
    /// written, and ask again while [`has_pending_output`](Self::has_pending_output).
    ///
    /// The output is a queue of chunks: a server's large unmasked payloads (at least
    /// [`ZERO_COPY_MIN`] bytes, no extension applied) are queued by reference to the sent
    /// `Bytes` rather than copied, so one chunk may end before all the output does. See
    /// [`pending_output_vectored`](Self::pending_output_vectored) to write them all at once.
    #[inline]
    pub fn pending_output(&self) -> &[u8] {
        self.out.first_chunk()
    }

    /// Fills `dst` with the queued chunks in order (none empty), for a vectored write;
    /// returns how many it filled (0 when nothing is queued). Chunks past `dst`'s length
    /// wait for the next call. Consume what was written with
    /// [`consume_output`](Self::consume_output), which advances across chunks.
    pub fn pending_output_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.chunks_vectored(dst)
    }

    /// Bytes queued for the peer, in all chunks.
    #[inline]
    pub fn pending_output_len(&self) -> usize {
        self.out.len()
    }

    /// Whether bytes are queued for the peer.
    #[inline]
    pub fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether the queued output (all chunks, shared payloads included) is at or over
    /// [`Config::max_pending_output`].
    pub fn is_output_over_limit(&self) -> bool {
        self.out.len() >= self.config.max_pending_output
    }

    /// Whether to read more from the transport now. False while the peer provokes output
    /// faster than it reads it: answers to its pings fill at least half of
    /// [`Config::max_pending_output`] and a newer ping's answer waits for room. A driver
    /// that stops reading then lets the transport's flow control (e.g. TCP's window) push
    /// back on that peer; it reads again once the output drains.
    ///
    /// Output of our own making (large messages) never stops reading: two peers that both
    /// send large messages at once must keep reading each other, or neither would progress.
    /// Memory stays bounded either way: the session queues at most the limit plus one
    /// control frame in answers, whatever it reads.
    pub fn wants_read(&self) -> bool {
        self.pending_pong.is_none() || self.owed < self.config.max_pending_output / 2
    }

    /// Drops the first `n` bytes of the pending output (they were written), across
    /// chunks; `n` past the end drops everything.
    #[inline]
    pub fn consume_output(&mut self, n: usize) {
        let n = self.out.consume(n);
        stats::add(&mut self.stats.wire_bytes_out, n);
        // Counted as if the answers were written first: never more than are queued.
        self.owed = self.owed.saturating_sub(n);
        self.flush_pending_pong();
    }

    /// Takes all the pending output at once, as one buffer (payloads queued by reference
    /// are copied into it).
    ///
    /// A pong kept aside for the peer's latest ping (see
    /// [`Config::max_pending_output`]) leaves with it.
    #[inline]
    pub fn take_output(&mut self) -> BytesMut {
        if let Some(payload) = self.pending_pong.take() {
            self.write_pong(&payload);
        }
        self.owed = 0;
        stats::add(&mut self.stats.wire_bytes_out, self.out.len());
        self.out.take()
    }

    /// Frees the receive and output buffers when they hold nothing, so that an idle
    /// connection keeps no buffer (but an output buffer of at most 1,038 bytes: room for a
    /// 1 KiB message's frame); the next read (into
    /// [`receive_buffer`](Self::receive_buffer)) or larger send allocates again.
    ///
    /// For drivers, at the moments a connection may go idle: when the transport has nothing
    /// to read, or the last buffered message was handed out. Messages already handed out
    /// keep their bytes (they share the receive buffer's allocation, which is freed when the
    /// last of them is dropped). A partly received frame or unwritten output stays.
    #[inline]
    pub fn release_idle_buffers(&mut self) {
        // Mostly the input buffers are already gone (a driver hands the receive buffer to
        // its spare slot first; the others are rarely used): one test for all four
        // (callgrind: this call runs twice per echoed message).
        if (self.read_buf.capacity()
            | self.next_buf.capacity()
            | self.scratch.capacity()
            | self.events.capacity())
            != 0
        {
            self.release_idle_input_buffers();
        }
        // A small output buffer stays (freeing and taking it again would cost every message
        // an allocation); one that a larger message grew goes.
        self.out.release_if_idle(IDLE_OUTPUT_KEPT);
    }

    /// The input side of [`release_idle_buffers`](Self::release_idle_buffers), for when one
    /// of its buffers has room.
    fn release_idle_input_buffers(&mut self) {
        if self.read_buf.is_empty() && self.read_buf.capacity() != 0 {
            self.read_buf = BytesMut::new();
        }
        if self.next_buf.is_empty() && self.next_buf.capacity() != 0 {
            self.next_buf = BytesMut::new();
        }
        // Between calls the extension's scratch space is always empty.
        if self.scratch.capacity() != 0 {
            self.scratch = BytesMut::new();
        }
        if self.events.is_empty() && self.events.capacity() != 0 {
            self.events = VecDeque::new();
        }
    }

    /// Bytes allocated to the receive and output buffers (their capacities): what
    /// [`release_idle_buffers`](Self::release_idle_buffers) frees when they are empty.
    pub fn buffer_capacity(&self) -> usize {
        self.read_buf.capacity() + self.next_buf.capacity() + self.out.capacity()
    }

    /// Queues the pong kept aside while output was over the limit, once there is room.
    #[inline]
    fn flush_pending_pong(&mut self) {
        if self.pending_pong.is_some() {
            self.flush_pending_pong_slow();
        }
    }

    #[cold]
    fn flush_pending_pong_slow(&mut self) {
        if self.has_room_for_answers() {
            if let Some(payload) = self.pending_pong.take() {
                self.write_pong(&payload);
            }
        }
    }

    /// Answers a ping (RFC 6455 §5.5.2): at once while output is under the limit, otherwise
    /// by keeping aside an answer to this most recent ping only (§5.5.3).
    pub(super) fn answer_ping(&mut self, payload: &Bytes) {
        if !self.has_room_for_answers() {
            self.pending_pong = Some(payload.clone());
        } else {
            self.pending_pong = None;
            self.write_pong(payload);
        }
    }

    /// Whether an answer to the peer may be queued now: output under the limit, or none at
    /// all (so even a limit of 0 lets one answer through at a time).
    fn has_room_for_answers(&self) -> bool {
        self.out.is_empty() || !self.is_output_over_limit()
    }

    /// Queues a pong that answers the peer, counting it as owed.
    fn write_pong(&mut self, payload: &[u8]) {
        let before = self.out.len();
        self.write_frame(true, Rsv::NONE, OpCode::Pong, payload, None);
        self.stats.pongs_out += 1;
        self.owed = self
            .owed
            .saturating_add(self.out.len().saturating_sub(before));
    }

    /// The earliest deadline among the running timers, or `None` when none runs. A pure
    /// read: call it after any call that takes `now`, and call
    /// [`handle_timeout`](Self::handle_timeout) once that instant has passed.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Tells the session the time: starts the clock on the first call, and fires every timer
    /// whose deadline is at or before `now`.
    ///
    /// - [`TimerKind::Close`]: the close handshake is abandoned and the session is closed;
    ///   [`poll_event`](Self::poll_event) yields
    ///   [`ConnectionError::TimedOut`] if our close frame went unanswered.
    /// - Keep-alive: after [`KeepAlive::interval`](crate::KeepAlive::interval) of silence a
    ///   ping is queued; after [`KeepAlive::timeout`](crate::KeepAlive::timeout) more the
    ///   connection fails with [`TimerKind::KeepAlive`]: closed at once, pending output
    ///   dropped (a silent peer reads nothing).
    /// - [`TimerKind::Idle`]: the close handshake starts with status 1001 and the event
    ///   [`ConnectionError::TimedOut`] reports why.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if self.timers.close.is_some_and(|at| now >= at) {
            tracing::debug!(role = ?self.role, "close timeout");
            self.stop();
            // The connection is to be dropped now (RFC 6455 §7.1.1): what the peer did not
            // take within the close timeout is dropped too, so that ending the transport
            // does not wait on a peer that does not read.
            self.drop_output();
            if !self.close_received && !self.failed && self.initiator == Some(Initiator::Local) {
                self.events
                    .push_back(Err(ConnectionError::TimedOut(TimerKind::Close)));
            }
            return;
        }
        if self.timers.silence.is_some_and(|at| now >= at) {
            tracing::debug!(role = ?self.role, "keep-alive timeout: the peer went silent");
            self.stop();
            self.incoming = None;
            self.release_budget();
            self.drop_output();
            self.failed = true;
            self.events
                .push_back(Err(ConnectionError::TimedOut(TimerKind::KeepAlive)));
            return;
        }
        if self.timers.idle.is_some_and(|at| now >= at) {
            self.timers.idle = None;
            if !self.close_sent {
                tracing::debug!(role = ?self.role, "idle timeout");
                self.initiator = Some(Initiator::Local);
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, Utf8Bytes::new());
                self.write_close(Some(&frame));
                self.close_started(Some(now));
                self.events
                    .push_back(Err(ConnectionError::TimedOut(TimerKind::Idle)));
            }
        }
        if self.timers.ping.is_some_and(|at| now >= at) {
            self.timers.ping = None;
            if let (Some(keepalive), false) = (self.config.keepalive, self.close_sent) {
                self.keepalive_seq = self.keepalive_seq.wrapping_add(1);
                let mut payload = [0u8; KEEPALIVE_LEN];
                let (tag, seq) = payload.split_at_mut(KEEPALIVE_TAG.len());
                tag.copy_from_slice(KEEPALIVE_TAG);
                seq.copy_from_slice(&self.keepalive_seq.to_be_bytes());
                tracing::trace!(role = ?self.role, seq = self.keepalive_seq, "keep-alive ping");
                self.write_frame(true, Rsv::NONE, OpCode::Ping, &payload, None);
                self.stats.pings_out += 1;
                self.timers.silence = now.checked_add(keepalive.timeout);
                self.timers.armed = true;
            }
        }
    }

    /// Ends the connection on a timer: no more input, no timers, the transport may close.
    /// Drops everything queued for the peer, written or owed (a pong not yet queued).
    fn drop_output(&mut self) {
        self.out.clear();
        self.owed = 0;
        self.pending_pong = None;
    }

    fn stop(&mut self) {
        self.timers = Timers::default();
        self.close_timer_pending = false;
        self.input_done = true;
        self.clear_input();
        self.closed = true;
    }

    /// Records that time passed: starts the clock, and restarts what counts from `now`.
    #[inline]
    fn tick(&mut self, now: Instant) {
        // Once the clock runs and no timer is armed (the default configuration), only the
        // clock moves: answered here, so that the callers (a receipt, a send) stay small.
        if self.clock.is_some() && !self.close_timer_pending && !self.timers.armed {
            self.clock = self.clock.max(Some(now));
            // A data message crossed, but no idle timer runs to restart.
            self.sent_data = false;
            return;
        }
        self.tick_slow(now);
    }

    /// [`tick`](Self::tick) when the clock starts or a timer may need to move.
    fn tick_slow(&mut self, now: Instant) {
        if self.clock.is_none() {
            self.clock = Some(now);
            if !self.close_sent && !self.close_received && !self.closed {
                if let Some(keepalive) = self.config.keepalive {
                    self.timers.ping = now.checked_add(keepalive.interval);
                    self.timers.armed = true;
                }
                if let Some(idle) = self.config.idle_timeout {
                    self.timers.idle = now.checked_add(idle);
                    self.timers.armed = true;
                }
            }
        }
        self.clock = self.clock.max(Some(now));
        if self.close_timer_pending {
            self.close_timer_pending = false;
            self.timers.close = now.checked_add(self.config.close_timeout);
            self.timers.armed = true;
        }
        if self.sent_data {
            self.sent_data = false;
            self.restart_idle(now);
        }
    }

    /// A data message crossed at `now`.
    #[inline]
    fn restart_idle(&mut self, now: Instant) {
        if !self.timers.armed {
            return;
        }
        if let (Some(idle), Some(_)) = (self.config.idle_timeout, self.timers.idle) {
            self.timers.idle = now.checked_add(idle);
        }
    }

    /// A close frame went out or came in: keep-alive and idle stop, the close timer starts
    /// at `now` (or at the next `now` when no time is known yet).
    fn close_started(&mut self, now: Option<Instant>) {
        self.timers.ping = None;
        self.timers.silence = None;
        self.timers.idle = None;
        // Once closed (e.g. the transport ended), nothing is left to bound.
        if self.timers.close.is_none() && !self.closed {
            match now {
                Some(now) => {
                    self.timers.close = now.checked_add(self.config.close_timeout);
                    self.timers.armed = true;
                }
                None => self.close_timer_pending = true,
            }
        }
    }

    /// Whether `payload` is that of one of our keep-alive pings.
    fn is_keepalive_pong(&self, payload: &[u8]) -> bool {
        self.keepalive_seq != 0
            && payload.len() == KEEPALIVE_LEN
            && payload.starts_with(KEEPALIVE_TAG)
    }
}

#[cfg(test)]
mod tests {
    use super::{Config, MaskKeys, Role, Session};

    #[test]
    fn only_a_client_session_masks_and_only_a_seeded_one_holds_a_generator() {
        let seeded = Config {
            mask_seed: Some(1),
            ..Config::default()
        };
        assert!(!Session::new(Role::Server, seeded.clone()).masks.masks());
        assert!(
            !Session::new(Role::Server, Config::default())
                .with_rng_seed(7)
                .masks
                .masks()
        );
        assert!(matches!(
            Session::new(Role::Client, Config::default()).masks,
            MaskKeys::ThreadRng
        ));
        assert!(matches!(
            Session::new(Role::Client, seeded).masks,
            MaskKeys::Seeded(_)
        ));
        assert!(matches!(
            Session::new(Role::Client, Config::default())
                .with_rng_seed(7)
                .masks,
            MaskKeys::Seeded(_)
        ));
    }
}
