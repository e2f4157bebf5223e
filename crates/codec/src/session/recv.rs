//! The receive path: bytes in, events out (RFC 6455 §5.2–§5.6, §6.2, §8.1).
//!
//! Input is parsed lazily, one frame per step, when events are polled: the queue of
//! unread events never holds more than the frames of one step, so memory stays bounded by
//! the caller's read buffer and the configured limits.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::{Event, Incoming, Initiator, Session, Timers};
use crate::close::{CloseCode, CloseFrame};
use crate::config::Role;
use crate::error::{ConnectionError, ProtocolError};
use crate::extension::ExtensionError;
use crate::fast::text::Utf8Bytes;
use crate::frame::{Frame, FrameHeader, OpCode, Rsv};
use crate::message::{DataKind, Fragment, Message};
use crate::stats;
use crate::utf8::Utf8Validator;

/// Input at least this long is placed by its frame headers (see `Session::buffer_input`);
/// shorter input that fits the buffer is appended at once.
const PLAN_MIN_INPUT: usize = 4 << 10;

/// The largest room [`Session::prepare_receive`] makes for a frame before its header is
/// read, guessing from the last frame's length (1 MiB and a header): longer frames move
/// their first read once, when their header is parsed.
const MAX_GUESSED_READ: usize = (1 << 20) + 14;

/// The largest read [`Session::prepare_receive`] makes room for, whatever `want` says (16
/// MiB, the default `max_frame_size`): a larger read could only bring more frames at
/// once, and a `want` near `usize::MAX` would overflow the buffer's capacity.
const MAX_READ: usize = 16 << 20;

/// Frame headers looked at, at most, to place one input (see `Session::plan_input`).
const PLAN_MAX_FRAMES: usize = 16;

/// Where one input goes (see `Session::plan_input`); offsets count from the start of
/// `read_buf`.
struct Plan {
    /// The first frame boundary inside the input: where a second buffer may start.
    split: Option<usize>,
    /// Where the last frame begun in the input ends (at or past the input's end), when
    /// every header up to it could be read.
    end: Option<usize>,
    /// Where that last frame starts, when its header is in `read_buf` or the input.
    last_start: Option<usize>,
}

/// What one parsing step did.
enum Step {
    /// Not enough input for the next frame.
    Blocked,
    /// A frame was handled; any event it produced is queued.
    Progress,
    /// A frame completed a data message (or, streaming, a piece of one).
    Event(Event),
}

impl Session {
    /// Appends bytes received from the peer at `now`. They are parsed by
    /// [`poll_event`](Self::poll_event). Any byte is a sign of life for keep-alive.
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        if !self.input_done {
            self.buffer_input(data);
        }
        self.received(now, data.len());
    }

    /// Appends input so that a frame's bytes move at most once after they are buffered,
    /// and most never do.
    ///
    /// A frame's payload is handed out as a slice of the buffer it arrived in, so it must
    /// end up contiguous there; when a buffer lacks room, `BytesMut` would move what it
    /// holds (up to a frame) to a new allocation. To avoid that copy, the frame headers in
    /// `data` are looked at first ([`plan_input`](Self::plan_input)): the bytes that complete
    /// the frame in progress go after it (its header reserved room for them), and the frames
    /// after it start `next_buf`, sized to end exactly where the last of them ends. The
    /// buffers then hold one read plus the rest of one frame each, and two of them alternate
    /// (each reclaimed once the messages split off it are dropped), so the bytes stay in
    /// cache. `next_buf` takes over once `read_buf` is drained. The exceptions, each one
    /// move: the start of a long frame (see `starts_long` below), input of many small
    /// frames, and input that follows unparsed input.
    #[inline]
    fn buffer_input(&mut self, data: &[u8]) {
        if !self.next_buf.is_empty() {
            self.next_buf.extend_from_slice(data);
            return;
        }
        let room = self.read_buf.capacity() - self.read_buf.len();
        if data.len() <= room && data.len() < PLAN_MIN_INPUT {
            // Small input that fits: whatever frame it ends in is small to move, if ever.
            self.read_buf.extend_from_slice(data);
            return;
        }
        let held = self.read_buf.len();
        let total = held + data.len();
        let plan = self.plan_input(data);
        // Room wanted from the start of `read_buf`: to the end of the last frame begun.
        let end = plan.end.unwrap_or(total).max(total);
        // A long frame of which the input brings only the start (at most an eighth):
        // moving that start once, to the front of a buffer its predecessor no longer
        // uses, costs less than a second buffer of the frame's size (twice the memory for
        // the cache to hold). Such a frame gets room for one more read past its end.
        let starts_long = plan
            .last_start
            .is_some_and(|start| (total - start).saturating_mul(8) <= end - start);
        let headroom = if starts_long { data.len() } else { 0 };
        if self.read_buf.capacity() >= end {
            self.read_buf.extend_from_slice(data);
        } else if held == 0 {
            // Nothing to move: (re)allocate for what is coming.
            self.read_buf.reserve(end + headroom);
            self.read_buf.extend_from_slice(data);
        } else if starts_long && self.read_buf.capacity() >= total {
            // The long frame's start moves when its header is parsed (`poll_header`).
            self.read_buf.extend_from_slice(data);
        } else {
            match plan.split {
                Some(split) if split <= self.read_buf.capacity() => {
                    // `split` lies in `data`: `held <= split < total`.
                    let (head, tail) = data.split_at(split - held);
                    self.read_buf.extend_from_slice(head);
                    self.next_buf.reserve(end - split + headroom);
                    self.next_buf.extend_from_slice(tail);
                }
                // The frame in progress began in `data`'s predecessor without room to
                // complete there (its header is not parsed yet): it moves, once.
                _ => {
                    self.read_buf.reserve(end - held);
                    self.read_buf.extend_from_slice(data);
                }
            }
        }
    }

    /// Finds, in the stream `read_buf` then `data`, where to start a second buffer and
    /// how much room the last frame begun needs, by looking at frame headers only.
    ///
    /// Offsets count from the start of `read_buf`. At most [`PLAN_MAX_FRAMES`] headers are
    /// looked at: input of many small frames is appended as it is (their bytes are cheap to
    /// move). A header that is incomplete, invalid or over `max_frame_size` ends the look
    /// with no room claimed; parsing reports the error later, in stream order.
    fn plan_input(&self, data: &[u8]) -> Plan {
        let held = self.read_buf.len();
        let total = held + data.len();
        // `read_buf` starts at a frame's first byte, or at the payload of the frame in
        // progress (its header already parsed off).
        let mut at = match self.decoder.current_header() {
            // Bounded by `max_frame_size` when the header was parsed.
            Some(header) => usize::try_from(header.payload_len).unwrap_or(usize::MAX),
            None => 0,
        };
        let mut plan = Plan {
            split: None,
            end: None,
            last_start: None,
        };
        for _ in 0..PLAN_MAX_FRAMES {
            if at >= held && at < total && plan.split.is_none() {
                plan.split = Some(at);
            }
            if at >= total {
                plan.end = Some(at);
                return plan;
            }
            let Some(len) = self.peek_frame_len(data, at) else {
                return plan;
            };
            plan.last_start = Some(at);
            at = at.saturating_add(len);
        }
        plan
    }

    /// The length (header and payload) of the frame that starts `at` bytes into the stream
    /// `read_buf` then `data`, when its header is there whole, valid and within the frame
    /// size limit.
    #[inline]
    fn peek_frame_len(&self, data: &[u8], at: usize) -> Option<usize> {
        let held = self.read_buf.len();
        let decoded = match at.checked_sub(held) {
            Some(start) => FrameHeader::decode(data.get(start..)?),
            None => {
                // The header may straddle the two: gather its bytes.
                let mut bytes = [0; FrameHeader::MAX_LEN];
                let first = self.read_buf.get(at..).unwrap_or_default();
                let n = first.len().min(FrameHeader::MAX_LEN);
                let m = data.len().min(FrameHeader::MAX_LEN - n);
                bytes.get_mut(..n)?.copy_from_slice(first.get(..n)?);
                bytes.get_mut(n..n + m)?.copy_from_slice(data.get(..m)?);
                FrameHeader::decode(bytes.get(..n + m)?)
            }
        };
        let (header, header_len) = decoded.ok()??;
        let payload = usize::try_from(header.payload_len).ok()?;
        if payload > self.decoder.max_frame_size() {
            return None;
        }
        header_len.checked_add(payload)
    }

    /// Drops all buffered input.
    pub(super) fn clear_input(&mut self) {
        self.read_buf.clear();
        self.next_buf.clear();
    }

    /// The buffer that received bytes are appended to, for reading straight into it
    /// (e.g. with `tokio_util::io::poll_read_buf`). Only append to it, and then call
    /// [`received`](Self::received) with the time. Bytes appended without that call (such
    /// as the bytes that followed the opening handshake) are parsed but move no timer.
    /// [`prepare_receive`](Self::prepare_receive) makes room for a read where a frame's
    /// bytes will not have to move, and says how much to read.
    #[inline]
    pub fn receive_buffer(&mut self) -> &mut BytesMut {
        if !self.next_buf.is_empty() {
            // Only after `receive` kept input apart: appending must follow it.
            let rest = self.next_buf.split();
            self.read_buf.extend_from_slice(&rest);
        }
        &mut self.read_buf
    }

    /// Makes room in [`receive_buffer`](Self::receive_buffer) for the next read, and
    /// returns how many bytes that read should take at most (a read into the buffer's spare
    /// capacity, limited to this, e.g. with `BufMut::limit`). `want` is the reader's read
    /// size in bytes (the async driver's `read_buffer_size`, 64 KiB by default; more than
    /// 16 MiB counts as 16 MiB); a buffer without capacity should be given one before (a
    /// reader may keep a spare).
    ///
    /// The room is placed by the frame headers seen, the way [`receive`](Self::receive)
    /// places input, so that a frame's bytes are not moved after they are read (its
    /// payload is handed out as one slice of the buffer):
    /// - a long frame in progress (payload of at least `want / 2`): room for the rest of its
    ///   payload, which its header already reserved, and a read of exactly that rest, so
    ///   the next frame starts where a buffer of its own can take it;
    /// - otherwise, when the last frame was long: room for a frame as long as that one (at
    ///   most 1 MiB and a header), at the front of the buffer when no other message
    ///   still shares its allocation, and a read of at most that;
    /// - otherwise (short frames): `want` bytes of room when less than half of that is
    ///   free, and a read of all the room.
    ///
    /// Memory stays bounded: the room asked for is the rest of a frame whose header was
    /// accepted (within `max_frame_size`, as when that header was parsed), or `want`, or a
    /// guess of at most 1 MiB and a header made only after a frame that long was
    /// received. [`release_idle_buffers`](Self::release_idle_buffers) frees an empty buffer
    /// as before.
    #[inline]
    pub fn prepare_receive(&mut self, want: usize) -> usize {
        let want = want.min(MAX_READ);
        // The common case, before every read of a connection that receives short frames:
        // nothing kept apart, no frame in progress, and a last frame shorter than half a
        // read. The third rule below then applies, whatever else holds.
        let buf = &mut self.read_buf;
        if self.next_buf.is_empty()
            && self.decoder.current_header().is_none()
            && self.decoder.last_frame_len() < want / 2
        {
            let room = buf.capacity() - buf.len();
            if room < want / 2 {
                buf.reserve(want);
            }
            return buf.capacity() - buf.len();
        }
        self.prepare_receive_placed(want)
    }

    /// [`prepare_receive`](Self::prepare_receive) when a frame's length may place the room.
    fn prepare_receive_placed(&mut self, want: usize) -> usize {
        let want = want.max(1);
        let long = want / 2;
        // Once input is no longer parsed (a failed connection), no frame gets room: what is
        // read is dropped.
        let parsing = !self.input_done;
        let current = self
            .decoder
            .current_header()
            .filter(|_| parsing)
            .map(|header| usize::try_from(header.payload_len).unwrap_or(usize::MAX));
        let guess = if parsing {
            self.decoder.last_frame_len().min(MAX_GUESSED_READ)
        } else {
            0
        };
        let buf = self.receive_buffer();
        let room = buf.capacity() - buf.len();
        match current {
            // `read_buf` holds this frame's payload from its start (its header is parsed off).
            Some(payload) if payload >= long && payload > buf.len() => {
                let rest = payload - buf.len();
                if room < rest {
                    // Only when the header's reservation was given up (`receive_eof` paths
                    // never come back here): the payload bytes move once.
                    buf.reserve(rest);
                }
                rest
            }
            _ if guess >= long && guess > want && buf.len() < guess => {
                let need = guess - buf.len();
                if buf.is_empty() {
                    // Back to the front of the allocation once every message split off it
                    // is dropped, even with room where the buffer is: each such read then
                    // lands on the same bytes, still in cache, instead of moving on
                    // through twice the memory (and half the reads at another alignment).
                    // `try_reclaim` moves a handle only when asked for more than its room;
                    // nothing is copied (the buffer is empty) and nothing allocated. It
                    // fails when a message still shares the allocation, or when the buffer
                    // is at the front already: either way it stays where it is.
                    let _front = buf.try_reclaim(room.saturating_add(1));
                }
                let room = buf.capacity() - buf.len();
                if room < need && !buf.try_reclaim(need) {
                    if buf.is_empty() {
                        // Nothing to keep: a buffer of the guessed size, not more.
                        *buf = BytesMut::with_capacity(guess);
                    } else {
                        // At most a frame header's start moves.
                        buf.reserve(need);
                    }
                }
                need
            }
            _ => {
                // Never no room: a read of nothing would look like the end of the stream.
                if room == 0 || room < want / 2 {
                    buf.reserve(want);
                }
                buf.capacity() - buf.len()
            }
        }
    }

    /// Tells the session that `n` bytes were appended to
    /// [`receive_buffer`](Self::receive_buffer) at `now`: they restart the keep-alive
    /// timers, and data messages among them restart the idle timer.
    #[inline]
    pub fn received(&mut self, now: Instant, n: usize) {
        self.tick(now);
        if n == 0 {
            return;
        }
        stats::add(&mut self.stats.wire_bytes_in, n);
        self.received_at = Some(now);
        if self.timers.armed && (self.timers.ping.is_some() || self.timers.silence.is_some()) {
            if let Some(keepalive) = self.config.keepalive {
                self.timers.silence = None;
                self.timers.ping = now.checked_add(keepalive.interval);
            }
        }
    }

    /// Bytes received but not yet parsed into events.
    pub fn buffered_input(&self) -> usize {
        self.read_buf.len() + self.next_buf.len()
    }

    /// The peer closed its side of the transport (read returned 0 bytes).
    ///
    /// After a close handshake this is the clean end; before it, the session reports
    /// [`ConnectionError::AbnormalClosure`].
    pub fn receive_eof(&mut self) {
        if self.closed {
            return;
        }
        let clean = self.close_received || self.failed;
        self.input_done = true;
        self.closed = true;
        self.timers = Timers::default();
        self.close_timer_pending = false;
        if !clean {
            tracing::debug!(role = ?self.role, "transport ended before the close handshake");
            self.incoming = None;
            self.release_budget();
            self.events.push_back(Err(ConnectionError::AbnormalClosure));
        }
    }

    /// The next event, parsing buffered input as needed.
    ///
    /// A protocol violation yields `Err` once: the session has queued a close frame with
    /// the matching code and stops reading. Never panics, whatever the input.
    ///
    /// Takes no time: a close frame or a failure found here starts the close timer at the
    /// `now` its bytes were [received](Self::receive) with, and a data message restarts the
    /// idle timer from then.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Result<Event, ConnectionError>> {
        // Nothing queued and nothing to parse: answered without a call (drivers ask before
        // every read).
        if self.events.is_empty() && self.read_buf.is_empty() && self.next_buf.is_empty() {
            return None;
        }
        self.poll_event_parsing()
    }

    fn poll_event_parsing(&mut self) -> Option<Result<Event, ConnectionError>> {
        // The commonest input first, before the general loop: a whole unfragmented data
        // message while nothing is queued ahead of it and no message is in progress.
        if self.events.is_empty() && !self.input_done && self.incoming.is_none() {
            match self.short_message() {
                Some(Ok(event)) => return Some(Ok(event)),
                Some(Err(err)) => self.fail(err),
                // Length code 126 or 127: a 16- or 64-bit length follows; out of line (a
                // `match` on one result of both paths costs the short path 25-30
                // instructions per message).
                None if self
                    .read_buf
                    .get(1)
                    .is_some_and(|second| second & 0x7F > 125) =>
                {
                    match self.extended_message(self.role == Role::Server) {
                        Some(Ok(event)) => return Some(Ok(event)),
                        Some(Err(err)) => self.fail(err),
                        None => {}
                    }
                }
                None => {}
            }
        }
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.input_done {
                // Whatever arrives after a close or a failure is dropped unread, so a
                // driver that keeps reading (waiting for the transport's end) stays bounded.
                self.clear_input();
                return None;
            }
            match self.step() {
                // A data message goes straight to the caller, not through the queue.
                Ok(Step::Event(event)) => return Some(Ok(event)),
                Ok(Step::Progress) => {}
                Ok(Step::Blocked) => return None,
                Err(err) => self.fail(err),
            }
        }
    }

    /// Parses at most one frame.
    #[inline]
    fn step(&mut self) -> Result<Step, ProtocolError> {
        if self.read_buf.is_empty() && !self.next_buf.is_empty() {
            // The input kept apart is next in the stream; the drained buffer's allocation
            // is reused for the next input kept apart.
            std::mem::swap(&mut self.read_buf, &mut self.next_buf);
        }
        let fresh = self.decoder.current_header().is_none();
        let Some(header) = self.decoder.poll_header(&mut self.read_buf)? else {
            return Ok(Step::Blocked);
        };
        if fresh {
            self.check_header(&header)?;
            // A data frame's payload is counted when its header arrives, before it does.
            self.settle_budget()?;
        }
        match self.decoder.poll_payload(&mut self.read_buf) {
            Some(frame) => {
                let event = self.on_frame(frame)?;
                self.settle_budget()?;
                Ok(match event {
                    Some(event) => Step::Event(event),
                    None => Step::Progress,
                })
            }
            None => {
                self.validate_partial_text(&header)?;
                Ok(Step::Blocked)
            }
        }
    }

    /// The fast path of [`poll_event`](Self::poll_event) for the commonest input: a whole
    /// short unfragmented text or binary frame without reserved bits, masked as this role
    /// requires (see `FrameDecoder::peek_short_data`), while no message is in progress, in a
    /// session with no extension, no message budget and whole-message delivery (when the
    /// frame has a 16- or 64-bit length instead, [`extended_message`](Self::extended_message)
    /// does the same out of line). Gives the same event, error and counters as the general
    /// path (`tests/short_frames.rs`), with none of its per-frame bookkeeping (no
    /// [`Incoming`], whose state such a message never needs). `None`, with nothing consumed,
    /// for anything else.
    #[inline]
    fn short_message(&mut self) -> Option<Result<Event, ProtocolError>> {
        let masked = self.role == Role::Server;
        // The frame first: a long frame's header (the only other one that gets here while
        // no message is in progress) is turned away after a few instructions.
        let total = self.decoder.peek_short_data(&self.read_buf, masked)?;
        if !self.takes_whole_messages() || self.config.max_message_size < 125 {
            // A frame over the message size limit fails on the general path.
            return None;
        }
        let Frame { header, payload } = self.decoder.take_short_data(&mut self.read_buf, total)?;
        self.whole_message(header.opcode, payload)
    }

    /// [`short_message`](Self::short_message) for a whole frame with a 16- or 64-bit
    /// length (a 1 KiB message, say): one call instead of the general path's header,
    /// payload and message steps. Out of line, so that the short path keeps its size.
    #[inline(never)]
    fn extended_message(&mut self, masked: bool) -> Option<Result<Event, ProtocolError>> {
        if !self.takes_whole_messages() {
            return None;
        }
        // A frame over the message size limit fails on the general path.
        let Frame { header, payload } = self.decoder.take_extended_data(
            &mut self.read_buf,
            masked,
            self.config.max_message_size,
        )?;
        self.whole_message(header.opcode, payload)
    }

    /// Whether a whole unfragmented data frame may skip the general path: no extension to
    /// transform it, no budget to charge, whole messages wanted, and a fragment limit it
    /// does not break.
    #[inline(always)]
    fn takes_whole_messages(&self) -> bool {
        self.extension.is_none()
            && self.budget.is_none()
            && !self.config.streaming
            && self.config.max_fragments != 0
    }

    /// The message of a whole unfragmented data frame taken by the fast path, counted as
    /// the general path counts it (`on_frame`, `on_data`).
    #[inline(always)]
    fn whole_message(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
    ) -> Option<Result<Event, ProtocolError>> {
        // The general path's order: the frame counts, the idle timer restarts, then the
        // payload is checked.
        self.stats.frames_in += 1;
        if self.timers.idle.is_some() {
            if let Some(at) = self.received_at {
                self.restart_idle(at);
            }
        }
        stats::add(&mut self.stats.payload_bytes_in, payload.len());
        let message = if opcode == OpCode::Text {
            if crate::utf8::validate(&payload).is_err() {
                return Some(Err(ProtocolError::InvalidUtf8));
            }
            Message::Text(Utf8Bytes::from_validated(payload))
        } else {
            Message::Binary(payload)
        };
        self.stats.messages_in += 1;
        Some(Ok(Event::Message(message)))
    }

    /// The rules a header breaks on its own, checked before its payload arrives.
    fn check_header(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        self.frame_validated = 0;
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrameFromClient),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrameFromServer),
            _ => {}
        }
        let claimed = self.extension.as_ref().map_or(Rsv::NONE, |ext| ext.rsv());
        let first_data_frame = matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let allowed = first_data_frame && claimed.contains(header.rsv);
        if !header.rsv.is_empty() && !allowed {
            return Err(ProtocolError::ReservedBitsSet(header.rsv.bits()));
        }
        let kind = match header.opcode {
            OpCode::Text => DataKind::Text,
            OpCode::Binary => DataKind::Binary,
            OpCode::Continuation => {
                let incoming = self
                    .incoming
                    .as_mut()
                    .ok_or(ProtocolError::UnexpectedContinuation)?;
                return count_frame(incoming, header, &self.config);
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => return Ok(()),
        };
        if self.incoming.is_some() {
            return Err(ProtocolError::ExpectedContinuation);
        }
        let transformed = match self.extension.as_mut() {
            Some(ext) => ext.decode_start(header.rsv),
            None => false,
        };
        let incoming = self.incoming.insert(Incoming {
            kind,
            transformed,
            buf: BytesMut::new(),
            fragments: 0,
            size: 0,
            started: false,
            utf8: Utf8Validator::default(),
        });
        count_frame(incoming, header, &self.config)
    }

    /// Fails fast on invalid UTF-8 in a text frame whose payload is still arriving.
    fn validate_partial_text(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let Some(incoming) = self.incoming.as_mut() else {
            return Ok(());
        };
        if header.opcode.is_control() || incoming.kind != DataKind::Text || incoming.transformed {
            return Ok(());
        }
        let partial = self.decoder.partial_payload(&self.read_buf);
        if let Some(fresh) = partial.get(self.frame_validated..) {
            incoming
                .utf8
                .feed(fresh)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.frame_validated = partial.len();
        Ok(())
    }

    #[inline]
    fn on_frame(&mut self, frame: Frame) -> Result<Option<Event>, ProtocolError> {
        let Frame { header, payload } = frame;
        self.stats.frames_in += 1;
        match header.opcode {
            OpCode::Ping => {
                self.stats.pings_in += 1;
                if self.config.auto_pong && !self.close_sent {
                    self.answer_ping(&payload);
                }
                self.events
                    .push_back(Ok(Event::Message(Message::Ping(payload))));
                Ok(None)
            }
            OpCode::Pong => {
                self.stats.pongs_in += 1;
                if !self.config.yield_keepalive_pongs && self.is_keepalive_pong(&payload) {
                    return Ok(None);
                }
                self.events
                    .push_back(Ok(Event::Message(Message::Pong(payload))));
                Ok(None)
            }
            OpCode::Close => self.on_close(&payload).map(|()| None),
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.on_data(header.fin, payload)
            }
        }
    }

    fn on_close(&mut self, payload: &Bytes) -> Result<(), ProtocolError> {
        let frame = CloseFrame::parse(payload)?;
        tracing::debug!(role = ?self.role, close = ?frame, "close frame received");
        // §7.1.5: a close frame without a status code means 1005.
        self.stats.close_code_in = Some(frame.as_ref().map_or(CloseCode::NO_STATUS, |f| f.code));
        self.close_received = true;
        self.input_done = true;
        self.clear_input();
        self.incoming = None;
        self.release_budget();
        if !self.close_sent {
            // §5.5.1: answer with a close, echoing the status code.
            self.initiator = Some(Initiator::Peer);
            let echo = frame
                .as_ref()
                .map(|f| CloseFrame::new(f.code, Utf8Bytes::new()));
            self.write_close(echo.as_ref());
        }
        self.finish_close_handshake();
        self.events
            .push_back(Ok(Event::Message(Message::Close(frame))));
        Ok(())
    }

    /// Both close frames have crossed (or we failed the connection): a server ends its
    /// write half now (§7.1.1, see [`should_end_write`](Self::should_end_write)); either
    /// role then waits, bounded by the close timeout, for the peer's end of the transport.
    /// A close timer already running (we sent the first close) keeps its deadline.
    pub(super) fn finish_close_handshake(&mut self) {
        self.close_started(self.received_at.or(self.clock));
    }

    #[inline]
    fn on_data(&mut self, fin: bool, payload: Bytes) -> Result<Option<Event>, ProtocolError> {
        if self.timers.idle.is_some() {
            if let Some(at) = self.received_at {
                self.restart_idle(at);
            }
        }
        let Some(incoming) = self.incoming.as_mut() else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let text = incoming.kind == DataKind::Text;
        let piece = if incoming.transformed {
            let ext = self
                .extension
                .as_mut()
                .ok_or(ProtocolError::ReservedBitsSet(Rsv::RSV1.bits()))?;
            let message_left = self.config.max_message_size.saturating_sub(incoming.size);
            // The connection's budget bounds inflation too, before the bytes exist: what
            // this session may still take, less what its message already holds.
            let budget_left = self.budget.as_ref().map(|charge| {
                (
                    charge.headroom().saturating_sub(incoming.buf.len()),
                    charge.limit(),
                )
            });
            let (limit, over) = match budget_left {
                Some((left, budget)) if left < message_left => {
                    (left, ProtocolError::BudgetExceeded { limit: budget })
                }
                _ => (
                    message_left,
                    ProtocolError::MessageTooLarge {
                        limit: self.config.max_message_size,
                    },
                ),
            };
            let start = incoming.buf.len();
            ext.decode(&payload, fin, &mut incoming.buf, limit)
                .map_err(|err| match err {
                    // The extension sees only what is left; report the limit that ran out.
                    ExtensionError::MessageTooLarge { .. } => over,
                    err => ProtocolError::Extension(err),
                })?;
            let fresh = incoming.buf.get(start..).unwrap_or_default();
            incoming.size += fresh.len();
            stats::add(&mut self.stats.payload_bytes_in, fresh.len());
            stats::add(&mut self.stats.compression_in.uncompressed, fresh.len());
            stats::add(&mut self.stats.compression_in.compressed, payload.len());
            if incoming.size > self.config.max_message_size {
                return Err(ProtocolError::MessageTooLarge {
                    limit: self.config.max_message_size,
                });
            }
            if text {
                incoming
                    .utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            None
        } else {
            stats::add(&mut self.stats.payload_bytes_in, payload.len());
            if text {
                let fresh = payload.get(self.frame_validated..).unwrap_or_default();
                incoming
                    .utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            Some(payload)
        };
        self.frame_validated = 0;
        if fin && text {
            incoming
                .utf8
                .finish()
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }

        let event = if self.config.streaming {
            let data = piece.unwrap_or_else(|| incoming.buf.split().freeze());
            let fragment = Fragment {
                kind: incoming.kind,
                data,
                first: !incoming.started,
                fin,
            };
            incoming.started = true;
            Some(Event::Fragment(fragment))
        } else {
            let whole = match piece {
                // A single-frame message: hand out the frame's own buffer, no copy.
                Some(payload) if fin && incoming.fragments == 1 => Some(payload),
                Some(payload) => {
                    incoming.buf.extend_from_slice(&payload);
                    None
                }
                None => None,
            };
            if fin {
                let data = whole.unwrap_or_else(|| incoming.buf.split().freeze());
                let message = match incoming.kind {
                    DataKind::Text => Message::Text(Utf8Bytes::from_validated(data)),
                    DataKind::Binary => Message::Binary(data),
                };
                Some(Event::Message(message))
            } else {
                None
            }
        };
        if fin {
            self.incoming = None;
            self.stats.messages_in += 1;
        }
        Ok(event)
    }

    /// Fails the connection (§7.1.7): queue a close with the error's code, stop reading.
    pub(super) fn fail(&mut self, err: ProtocolError) {
        tracing::debug!(role = ?self.role, error = %err, "failing the connection");
        self.input_done = true;
        self.failed = true;
        // No more input will be parsed: give back the room a long frame reserved.
        self.read_buf = BytesMut::new();
        self.next_buf = BytesMut::new();
        self.incoming = None;
        self.release_budget();
        if !self.close_sent {
            self.initiator = Some(Initiator::Local);
            let frame = CloseFrame::new(err.close_code(), Utf8Bytes::new());
            self.write_close(Some(&frame));
        }
        self.finish_close_handshake();
        self.events.push_back(Err(ConnectionError::Protocol(err)));
    }
}

impl Session {
    /// The message bytes this session holds for the connection's budget: the unfinished
    /// message's assembled (inflated) payload plus the announced payload of the data frame
    /// being received (the receive buffer reserves room for it). Control frames (at most
    /// 125 bytes) and read-ahead past the current frame (bounded by the driver's read
    /// size) are not counted.
    fn held_message_bytes(&self) -> usize {
        let Some(incoming) = self.incoming.as_ref() else {
            return 0;
        };
        let frame = match self.decoder.current_header() {
            Some(header) if !header.opcode.is_control() => {
                usize::try_from(header.payload_len).unwrap_or(usize::MAX)
            }
            _ => 0,
        };
        incoming.buf.len().saturating_add(frame)
    }

    /// Moves this session's share of the connection's budget to what it holds now.
    #[inline]
    fn settle_budget(&mut self) -> Result<(), ProtocolError> {
        // Most sessions have no budget: skip measuring what they hold (twice per frame).
        if self.budget.is_none() {
            return Ok(());
        }
        let held = self.held_message_bytes();
        let Some(charge) = self.budget.as_mut() else {
            return Ok(());
        };
        if charge.settle(held) {
            return Ok(());
        }
        let limit = charge.limit();
        tracing::debug!(role = ?self.role, held, limit, "the connection's message budget is exceeded");
        Err(ProtocolError::BudgetExceeded { limit })
    }

    /// Gives back the budget of a message that was dropped (shrinking never fails).
    pub(super) fn release_budget(&mut self) {
        let held = self.held_message_bytes();
        if let Some(charge) = self.budget.as_mut() {
            charge.settle(held);
        }
    }
}

/// Counts one more frame of `incoming`'s message against the limits.
fn count_frame(
    incoming: &mut Incoming,
    header: &FrameHeader,
    config: &crate::Config,
) -> Result<(), ProtocolError> {
    incoming.fragments += 1;
    if incoming.fragments > config.max_fragments {
        return Err(ProtocolError::TooManyFragments {
            limit: config.max_fragments,
        });
    }
    if !incoming.transformed {
        // Untransformed payloads count before they arrive: fail fast, buffer nothing.
        let total = (incoming.size as u64).saturating_add(header.payload_len);
        if total > config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                limit: config.max_message_size,
            });
        }
        // Fits in usize: bounded by max_message_size just above.
        incoming.size = usize::try_from(total).unwrap_or(usize::MAX);
    }
    Ok(())
}
