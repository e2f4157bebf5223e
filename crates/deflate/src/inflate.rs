//! The receiving side: inflates incoming messages (RFC 7692 §7.2.2) within the session's size
//! limit, keeps the LZ77 window from message to message whatever the peer's blocks look like,
//! and tells a message that ends inside a DEFLATE block from one that is complete.

use std::fmt;

use bytes::BytesMut;
use wintergreen_codec::ExtensionError;
use zlib_rs::{Inflate, InflateFlush, Status};

use crate::error::InflateError;
use crate::pool;

/// The empty stored block's tail that a sync flush ends with; stripped from each compressed
/// message by the sender and put back before inflating it (RFC 7692 §7.2.1–§7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The first output chunk when inflating, on the stack; later chunks double up to
/// [`MAX_INFLATE_CHUNK`], always capped by what is left of the limit.
const STACK_CHUNK: usize = 4096;
/// The largest output chunk reserved at once when inflating.
const MAX_INFLATE_CHUNK: usize = 1 << 20;
/// Last frames up to this size are inflated together with the tail, in one buffer.
const SMALL_MESSAGE: usize = 512;

/// One byte fed after a message's tail, in the same call, with zlib's block flush: zlib stops
/// at the end of each block, so if the message (with its tail) ends at a block boundary, the
/// call returns with exactly this byte unread, and it is never fed. If the message ends
/// inside a block, zlib reads the byte as more of that block, and the message is truncated.
const PROBE: u8 = 0xff;

/// An empty stored block (a no-op at a block boundary) and the probe: what follows a message
/// that kept its `00 00 ff ff`, and what is fed instead of the lone probe when zlib filled its
/// output just as the message's data ran out, so that its stop told nothing (only a message
/// that ends with a block whose data reaches into the tail gets there).
const SECOND_PROBE: [u8; 6] = [0x00, 0x00, 0x00, 0xff, 0xff, PROBE];

/// What follows a message's last compressed byte: the tail, put back, and the probe.
const TAIL_AND_PROBE: [u8; 5] = [TAIL[0], TAIL[1], TAIL[2], TAIL[3], PROBE];

/// How the bytes handed to [`Inflater::inflate`] sit in the message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Not the message's end.
    Middle,
    /// The message's end: the input ends with [`TAIL`] and [`PROBE`].
    End,
}

/// The last 2<sup>bits</sup> bytes inflated on this connection, in a ring: what a fresh
/// inflater is primed with when the peer starts a new DEFLATE stream after a block with
/// BFINAL set (RFC 7692 §7.2.3.4), so that context takeover survives it. The ring grows with
/// what is recorded, up to its size, so a connection that has inflated little holds little.
struct History {
    /// Oldest-first while it fills; once it holds `size` bytes, a ring.
    ring: Vec<u8>,
    /// The most it keeps: 2<sup>bits</sup> bytes.
    size: usize,
    /// Where the next byte goes once the ring is full.
    next: usize,
}

impl History {
    fn new(size: usize) -> Self {
        Self {
            ring: Vec::new(),
            size,
            next: 0,
        }
    }

    /// Appends `fresh`, keeping only the ring's size of the newest bytes.
    fn record(&mut self, fresh: &[u8]) {
        let size = self.size;
        let mut fresh = fresh
            .get(fresh.len().saturating_sub(size)..)
            .unwrap_or_default();
        if self.ring.len() < size {
            let (head, rest) = fresh.split_at(fresh.len().min(size - self.ring.len()));
            let wanted = self.ring.len() + head.len();
            if wanted > self.ring.capacity() {
                // Grow by doubling, never past the size.
                let target = wanted.max(self.ring.capacity() * 2).min(size);
                self.ring.reserve_exact(target - self.ring.len());
            }
            self.ring.extend_from_slice(head);
            if rest.is_empty() {
                return;
            }
            fresh = rest;
        }
        // Full: overwrite the oldest bytes.
        let (head, rest) = fresh.split_at(fresh.len().min(size - self.next));
        if let Some(slot) = self.ring.get_mut(self.next..self.next + head.len()) {
            slot.copy_from_slice(head);
        }
        if rest.is_empty() {
            self.next += head.len();
            if self.next == size {
                self.next = 0;
            }
        } else {
            if let Some(slot) = self.ring.get_mut(..rest.len()) {
                slot.copy_from_slice(rest);
            }
            self.next = rest.len();
        }
    }

    /// The history, oldest byte first, in one piece.
    fn contiguous(&self) -> Vec<u8> {
        let (newest, oldest) = self.ring.split_at(self.next.min(self.ring.len()));
        [oldest, newest].concat()
    }
}

/// Inflates one direction's messages. The zlib state and the history are created the first
/// time a compressed message arrives; without context takeover they are given back (the
/// state to the thread's pool) when each message ends.
pub(crate) struct Inflater {
    /// zlib window bits (9..=15: a 9-bit inflater reads 8-bit streams).
    bits: u8,
    /// The peer keeps its context from message to message (no `*_no_context_takeover` for
    /// its direction): a new stream at a message's start needs the history.
    takeover: bool,
    zlib: Option<Box<Inflate>>,
    history: Option<History>,
    /// The peer ended its DEFLATE stream (a block with BFINAL set): the next compressed byte
    /// starts a new one, whose history is what came before.
    stream_ended: bool,
    /// The current message's last four compressed bytes, big-endian, and how many it has had.
    last_four: u32,
    seen: usize,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("bits", &self.bits)
            .field("allocated", &self.zlib.is_some())
            .field("stream_ended", &self.stream_ended)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// An inflater for a peer's `bits`-bit window (9..=15), with context takeover or not.
    pub(crate) const fn new(bits: u8, takeover: bool) -> Self {
        Self {
            bits,
            takeover,
            zlib: None,
            history: None,
            stream_ended: false,
            last_four: 0,
            seen: 0,
        }
    }

    /// Whether a zlib state is held now.
    pub(crate) const fn holds_state(&self) -> bool {
        self.zlib.is_some()
    }

    /// Inflates a message's next frame into `out`, which may grow by at most `limit` bytes.
    /// `fin` marks the message's last frame, after which the message must end at a DEFLATE
    /// block boundary (with the tail put back) or at the end of a stream. `started`: the
    /// message has had compressed bytes before this frame.
    pub(crate) fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        started: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let decoded = self.decode_frame(payload, fin, started, out, limit);
        if fin && !self.takeover {
            // Without context takeover nothing has to survive the message: the state goes
            // back to the thread's pool and the history is freed.
            if let Some(zlib) = self.zlib.take() {
                pool::give_inflater(self.bits, zlib);
            }
            self.history = None;
            self.stream_ended = false;
        }
        decoded
    }

    /// [`decode`](Self::decode), without giving the state back.
    fn decode_frame(
        &mut self,
        payload: &[u8],
        fin: bool,
        started: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let mut room = limit;
        let fed = started || !payload.is_empty();
        if !started && !payload.is_empty() && self.stream_ended && !self.takeover {
            // Without context takeover the peer's new stream refers to nothing before this
            // message: start it without copying the history in.
            self.restart(false)?;
        }
        for &byte in payload.iter().rev().take(TAIL.len()).rev() {
            self.last_four = self.last_four << 8 | u32::from(byte);
        }
        self.seen = self.seen.saturating_add(payload.len());
        if !fin {
            if !payload.is_empty() {
                self.inflate(payload, Segment::Middle, out, &mut room, limit)?;
            }
            return Ok(());
        }
        // A sender that left the sync flush's `00 00 ff ff` in place (RFC 7692 §7.2.1 says to
        // strip it) ended at a block boundary already: a whole empty stored block stands in
        // for the tail, and the message is complete as it is.
        let unstripped = self.seen >= TAIL.len() && self.last_four == u32::from_be_bytes(TAIL);
        (self.last_four, self.seen) = (0, 0);
        if payload.is_empty() && !fed {
            // A compressed message with no bytes at all reads as empty.
            return Ok(());
        }
        let end: &[u8] = if unstripped {
            &SECOND_PROBE
        } else {
            &TAIL_AND_PROBE
        };
        if payload.len() <= SMALL_MESSAGE {
            // A small last frame: inflate it with the tail and the probe in one buffer, which
            // saves a zlib call and a second growth of `out` on every small message.
            let mut joined = [0u8; SMALL_MESSAGE + SECOND_PROBE.len()];
            let len = payload.len() + end.len();
            let (head, rest) = joined.split_at_mut(payload.len());
            head.copy_from_slice(payload);
            if let Some(slot) = rest.get_mut(..end.len()) {
                slot.copy_from_slice(end);
            }
            let input = joined.get(..len).unwrap_or_default();
            return self.inflate(input, Segment::End, out, &mut room, limit);
        }
        self.inflate(payload, Segment::Middle, out, &mut room, limit)?;
        self.inflate(end, Segment::End, out, &mut room, limit)
    }

    /// Inflates `input` into `out`, which may grow by at most `*room` bytes (decremented by
    /// what is produced). For [`Segment::End`], `input` ends with the tail and the probe, and
    /// the message must end complete.
    fn inflate(
        &mut self,
        mut input: &[u8],
        segment: Segment,
        out: &mut BytesMut,
        room: &mut usize,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        // What is left of the input once the message's data is all in: the tail and the probe
        // (after a stream's end), or the probe alone (at a block boundary).
        let trailer = match segment {
            Segment::Middle => 0,
            Segment::End => TAIL.len() + 1,
        };
        let flush = match segment {
            Segment::Middle => InflateFlush::NoFlush,
            Segment::End => InflateFlush::Block,
        };
        // Small output goes to a stack buffer first, big enough for zlib's fast path (it needs
        // 258 bytes of room), and is copied into `out` at its exact size; larger output goes
        // straight into `out`, in chunks that start at four times the input and double.
        let mut stack = [0u8; STACK_CHUNK];
        let mut chunk = input
            .len()
            .saturating_mul(4)
            .clamp(STACK_CHUNK, MAX_INFLATE_CHUNK);
        // Whether the last call filled its output: zlib may hold more even with no input left.
        let mut filled = false;
        while input.len() > trailer.min(1) || filled {
            if segment == Segment::End && filled && input.len() == 1 && !self.stream_ended {
                // The output filled with only the probe left: a block boundary here cannot
                // be told from a block that goes on. Drain what zlib holds, then ask again.
                self.drain(out, room, limit)?;
                input = &SECOND_PROBE;
                filled = false;
                continue;
            }
            if self.stream_ended {
                if input.len() <= trailer {
                    // The stream ended and only the tail we appended (which is not DEFLATE
                    // data after a stream's end) and the probe are left: complete.
                    return Ok(());
                }
                // RFC 7692 §7.2.3.4: after a block with BFINAL set, further blocks follow as
                // a new stream, whose history is everything inflated before it.
                self.restart(true)?;
            }
            let bits = self.bits;
            let zlib = self.zlib.get_or_insert_with(|| pool::take_inflater(bits));
            let (before_in, before_out) = (zlib.total_in(), zlib.total_out());
            let offered = chunk.min(*room);
            let start = out.len();
            let status = if offered == 0 {
                // At the limit: one more byte of output means the message is too large.
                let mut probe = [0u8; 1];
                let status = zlib.decompress(input, &mut probe, flush);
                if zlib.total_out() > before_out {
                    return Err(ExtensionError::MessageTooLarge { limit });
                }
                status
            } else if offered <= STACK_CHUNK {
                let target = stack.get_mut(..offered).unwrap_or_default();
                let status = zlib.decompress(input, target, flush);
                let produced = (zlib.total_out() - before_out) as usize;
                out.extend_from_slice(stack.get(..produced).unwrap_or_default());
                status
            } else {
                out.resize(start + offered, 0);
                let target = out.get_mut(start..).unwrap_or_default();
                let status = zlib.decompress(input, target, flush);
                let produced = (zlib.total_out() - before_out) as usize;
                out.truncate(start + produced);
                status
            };
            let consumed = (zlib.total_in() - before_in) as usize;
            let produced = (zlib.total_out() - before_out) as usize;
            let corrupt = status.is_err().then(|| zlib.error_message());
            input = input.get(consumed..).unwrap_or_default();
            *room -= produced;
            filled = produced == offered.max(1);
            if filled {
                // More is coming than this chunk held: offer twice as much next time.
                chunk = chunk.saturating_mul(2).min(MAX_INFLATE_CHUNK);
            }
            if produced > 0 {
                let bits = self.bits;
                self.history
                    .get_or_insert_with(|| History::new(1 << bits))
                    .record(out.get(start..).unwrap_or_default());
            }
            match status {
                Ok(Status::StreamEnd) => {
                    self.stream_ended = true;
                    filled = false;
                }
                Ok(Status::Ok | Status::BufError) => {
                    if segment == Segment::End && input.len() == 1 && !filled {
                        // zlib's block flush stopped at the end of a block, with only the
                        // probe left: the message ends at a block boundary.
                        return Ok(());
                    }
                    if consumed == 0 && produced == 0 && !input.is_empty() && !filled {
                        return Err(ExtensionError::Internal("inflate made no progress".into()));
                    }
                }
                Err(_) => {
                    return Err(
                        InflateError::Corrupt(corrupt.flatten().unwrap_or("invalid data")).into(),
                    );
                }
            }
        }
        match segment {
            Segment::Middle => Ok(()),
            // The probe was read as DEFLATE data: the message ended inside a block.
            Segment::End if self.stream_ended && input.len() <= trailer => Ok(()),
            Segment::End => {
                tracing::debug!("compressed message ends inside a DEFLATE block");
                Err(InflateError::Truncated.into())
            }
        }
    }

    /// Takes the output zlib holds back with no more input, as far as `room` allows.
    fn drain(
        &mut self,
        out: &mut BytesMut,
        room: &mut usize,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let Some(zlib) = self.zlib.as_mut() else {
            return Ok(());
        };
        loop {
            let before = zlib.total_out();
            let offered = STACK_CHUNK.min(*room);
            let mut stack = [0u8; STACK_CHUNK];
            let target = stack.get_mut(..offered.max(1)).unwrap_or_default();
            let status = zlib.decompress(&[], target, InflateFlush::Block);
            let produced = (zlib.total_out() - before) as usize;
            if produced > *room {
                return Err(ExtensionError::MessageTooLarge { limit });
            }
            let fresh = stack.get(..produced).unwrap_or_default();
            out.extend_from_slice(fresh);
            *room -= produced;
            if produced > 0 {
                let bits = self.bits;
                self.history
                    .get_or_insert_with(|| History::new(1 << bits))
                    .record(fresh);
            }
            if status.is_err() {
                return Err(
                    InflateError::Corrupt(zlib.error_message().unwrap_or("invalid data")).into(),
                );
            }
            if produced < offered.max(1) {
                return Ok(());
            }
        }
    }

    /// A fresh inflater after the peer ended a DEFLATE stream, primed with the history if
    /// `prime`.
    fn restart(&mut self, prime: bool) -> Result<(), ExtensionError> {
        tracing::trace!("the peer started a new DEFLATE stream after a final block");
        match self.zlib.as_mut() {
            // zlib-rs's reset always restores a 15-bit window; other sizes need a new state.
            Some(zlib) if self.bits == 15 => zlib.reset(false),
            _ => self.zlib = Some(pool::take_inflater(self.bits)),
        }
        self.stream_ended = false;
        let history = match &self.history {
            Some(history) if prime => history.contiguous(),
            _ => Vec::new(),
        };
        if let (Some(zlib), false) = (self.zlib.as_mut(), history.is_empty()) {
            zlib.set_dictionary(&history).map_err(|err| {
                ExtensionError::Internal(format!("inflate dictionary: {err:?}").into())
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn the_history_is_the_newest_window_of_everything_recorded_in_order() {
        let mut history = History::new(512);
        let mut all = Vec::new();
        // Pieces shorter, equal to and longer than the ring, wrapping at every offset.
        for (i, len) in [1usize, 7, 300, 211, 512, 0, 513, 5, 1000, 511, 2]
            .iter()
            .enumerate()
        {
            let piece: Vec<u8> = (0..*len).map(|j| (i * 31 + j) as u8).collect();
            history.record(&piece);
            all.extend_from_slice(&piece);
            let newest = all.get(all.len().saturating_sub(512)..).unwrap_or_default();
            assert_eq!(history.contiguous(), newest, "after piece {i}");
        }
    }
}
