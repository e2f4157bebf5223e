//! The queue of bytes for the peer: copied bytes in one contiguous buffer, with large
//! unmasked payloads kept by reference in between (no copy of a server's large message).

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// A frame's payload of at least this many bytes that goes out unmasked and untransformed
/// (a server's, with no extension applied to the message) is queued by reference to the
/// caller's `Bytes` instead of being copied into the output buffer.
///
/// Below it a copy costs less than the extra chunk does (one more `IoSlice` per write, or
/// one more write on a transport that is not vectored). At 16 KiB the copy was 16,391 of a
/// server's 22,788 instructions per echoed message; at 1 KiB the shared chunk (queueing,
/// the vectored write, consuming across chunks) cost 31 more than the copy (callgrind).
pub const ZERO_COPY_MIN: usize = 2048;

/// A payload queued by reference, and where it goes in the stream of copied bytes.
#[derive(Debug)]
struct Shared {
    /// The payload goes after this many copied bytes, counted from the same origin as
    /// [`Output::copied_consumed`] (wrapping).
    at: usize,
    bytes: Bytes,
}

/// Shared payloads in order: the first one inline, the others in a deque, so that the
/// common case (one large message per write) allocates no queue. An empty `head` means an
/// empty queue.
#[derive(Debug, Default)]
struct SharedQueue {
    head: Option<Shared>,
    rest: VecDeque<Shared>,
}

impl SharedQueue {
    #[inline]
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    #[inline]
    fn front(&self) -> Option<&Shared> {
        self.head.as_ref()
    }

    #[inline]
    fn front_mut(&mut self) -> Option<&mut Shared> {
        self.head.as_mut()
    }

    #[inline]
    fn back(&self) -> Option<&Shared> {
        self.rest.back().or(self.head.as_ref())
    }

    #[inline]
    fn push_back(&mut self, shared: Shared) {
        if self.head.is_none() {
            self.head = Some(shared);
        } else {
            self.rest.push_back(shared);
        }
    }

    #[inline]
    fn pop_front(&mut self) {
        self.head = self.rest.pop_front();
    }

    fn iter(&self) -> impl Iterator<Item = &Shared> {
        self.head.iter().chain(self.rest.iter())
    }

    #[inline]
    fn clear(&mut self) {
        self.head = None;
        // Mostly empty: spares the out-of-line `truncate` (18 instructions a 1 KiB echo).
        if !self.rest.is_empty() {
            self.rest.clear();
        }
    }

    /// Frees the deque's room (the inline slot is part of the session).
    #[inline]
    fn release(&mut self) {
        if self.rest.capacity() != 0 {
            self.rest = VecDeque::new();
        }
    }
}

/// The session's pending output, in order: the copied bytes of `buf` cut at each shared
/// payload's position, that payload, then more copied bytes.
///
/// Bounded like the bytes it holds: every shared payload is at least [`ZERO_COPY_MIN`]
/// bytes, so the queue holds at most `len() / ZERO_COPY_MIN` of them.
#[derive(Debug, Default)]
pub(super) struct Output {
    /// Copied bytes (frame headers, small frames, masked frames), all of them in order.
    buf: BytesMut,
    /// Payloads kept by reference, in order of position.
    shared: SharedQueue,
    /// Copied bytes consumed while shared payloads were queued (wrapping): positions in
    /// `shared` count from the same origin, so consuming copied bytes never rewrites the
    /// queue. Without shared payloads there are no positions to keep, and it stays put.
    copied_consumed: usize,
    /// Bytes of the shared payloads pending (all pending bytes: `buf.len()` plus this).
    shared_len: usize,
}

impl Output {
    /// All bytes pending.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.buf.len() + self.shared_len
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.shared_len == 0
    }

    /// The buffer that bytes are copied into (frame headers, copied payloads): whatever is
    /// appended goes after everything queued so far.
    #[inline]
    pub(super) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Queues `bytes` by reference after everything queued so far.
    pub(super) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.shared_len = self.shared_len.saturating_add(bytes.len());
        self.shared.push_back(Shared {
            at: self.copied_consumed.wrapping_add(self.buf.len()),
            bytes,
        });
    }

    /// Copied bytes before the first shared payload (all of `buf` when there is none).
    #[inline]
    fn copied_run(&self) -> usize {
        match self.shared.front() {
            Some(first) => first
                .at
                .wrapping_sub(self.copied_consumed)
                .min(self.buf.len()),
            None => self.buf.len(),
        }
    }

    /// The first contiguous chunk of the pending output (empty when none is pending).
    #[inline]
    pub(super) fn first_chunk(&self) -> &[u8] {
        let run = self.copied_run();
        if run == 0 {
            if let Some(first) = self.shared.front() {
                return &first.bytes;
            }
        }
        self.buf.get(..run).unwrap_or_default()
    }

    /// The pending chunks in order, none of them empty.
    fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let base = self.copied_consumed;
        let buf: &[u8] = &self.buf;
        let position = move |shared: &Shared| shared.at.wrapping_sub(base).min(buf.len());
        let tail_from = self.shared.back().map_or(0, position);
        let mut copied_from = 0;
        self.shared
            .iter()
            .flat_map(move |shared| {
                let at = position(shared);
                let copied = buf.get(copied_from..at).unwrap_or_default();
                copied_from = at;
                [copied, &shared.bytes[..]]
            })
            .chain(std::iter::once(buf.get(tail_from..).unwrap_or_default()))
            .filter(|chunk| !chunk.is_empty())
    }

    /// Fills `dst` with the pending chunks in order; returns how many it filled.
    ///
    /// A plain loop rather than [`chunks`](Self::chunks): the iterator chain cost a
    /// server's 1 KiB echo (one shared payload) about 250 instructions (callgrind).
    pub(super) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let base = self.copied_consumed;
        let buf: &'a [u8] = &self.buf;
        let mut slots = dst.iter_mut();
        let mut filled = 0;
        // Puts a non-empty chunk in the next slot; false when the slots ran out.
        let mut put = |chunk: &'a [u8]| {
            if chunk.is_empty() {
                return true;
            }
            match slots.next() {
                Some(slot) => {
                    *slot = IoSlice::new(chunk);
                    filled += 1;
                    true
                }
                None => false,
            }
        };
        let mut copied_from = 0;
        // The copied bytes before each shared payload, then the payload.
        let mut put_shared = |shared: &'a Shared| {
            let at = shared.at.wrapping_sub(base).min(buf.len());
            let copied = buf.get(copied_from..at).unwrap_or_default();
            copied_from = at;
            put(copied) && put(&shared.bytes)
        };
        // The inline head alone is the common case: the deque is not walked when empty.
        let all_put = match &self.shared.head {
            Some(head) => {
                put_shared(head)
                    && (self.shared.rest.is_empty() || self.shared.rest.iter().all(put_shared))
            }
            None => true,
        };
        if all_put {
            put(buf.get(copied_from..).unwrap_or_default());
        }
        filled
    }

    /// Drops the first `n` pending bytes (at most all of them); returns how many it dropped.
    #[inline]
    pub(super) fn consume(&mut self, n: usize) -> usize {
        if self.shared.is_empty() {
            // Only copied bytes (the common case): positions need no upkeep, none exist.
            let n = n.min(self.buf.len());
            if n == self.buf.len() {
                // All written: keep the buffer's room from its start (advancing to the end
                // would leave it no capacity, to be reclaimed at the next send).
                self.buf.clear();
            } else {
                self.buf.advance(n);
            }
            return n;
        }
        self.consume_across(n)
    }

    // Out of line: `consume` stays small where no payload is shared.
    #[inline(never)]
    fn consume_across(&mut self, n: usize) -> usize {
        let len = self.len();
        if n >= len {
            // All written (the common case): no chunk-by-chunk walk.
            self.clear();
            return len;
        }
        let mut left = n;
        while left > 0 {
            let run = self.copied_run();
            if run > 0 {
                let k = run.min(left);
                if k == self.buf.len() {
                    // All copied bytes written: keep the buffer's room from its start
                    // (advancing to the end would leave it no capacity).
                    self.buf.clear();
                } else {
                    self.buf.advance(k);
                }
                self.copied_consumed = self.copied_consumed.wrapping_add(k);
                left -= k;
            } else if let Some(first) = self.shared.front_mut() {
                let k = first.bytes.len().min(left);
                first.bytes.advance(k);
                self.shared_len -= k;
                if first.bytes.is_empty() {
                    self.shared.pop_front();
                }
                left -= k;
            } else {
                // Unreachable while `len` counts every chunk; stop rather than spin.
                break;
            }
        }
        n - left
    }

    /// Takes everything pending as one buffer (copying any shared payloads into it).
    pub(super) fn take(&mut self) -> BytesMut {
        if self.shared.is_empty() {
            return self.buf.split();
        }
        let mut all = BytesMut::with_capacity(self.len());
        for chunk in self.chunks() {
            all.extend_from_slice(chunk);
        }
        self.clear();
        all
    }

    /// Drops everything pending.
    pub(super) fn clear(&mut self) {
        self.copied_consumed = self.copied_consumed.wrapping_add(self.buf.len());
        self.buf.clear();
        self.shared.clear();
        self.shared_len = 0;
    }

    /// Bytes allocated to the copy buffer.
    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Frees the copy buffer when nothing is pending and it holds more than `keep` bytes
    /// of room, and the shared queue's room.
    #[inline]
    pub(super) fn release_if_idle(&mut self, keep: usize) {
        if !self.is_empty() {
            return;
        }
        if self.buf.capacity() > keep {
            self.buf = BytesMut::new();
        }
        self.shared.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mixed copied and shared chunks, with empty pieces in between.
    fn sample() -> (Output, Vec<u8>) {
        let mut out = Output::default();
        let mut expected = Vec::new();
        for (copied, shared) in [
            (&b"ab"[..], &b"0123456789"[..]),
            (b"", b"XYZ"),
            (b"cde", b""),
            (b"f", b"klmnop"),
        ] {
            out.buf_mut().extend_from_slice(copied);
            out.push_shared(Bytes::copy_from_slice(shared));
            expected.extend_from_slice(copied);
            expected.extend_from_slice(shared);
        }
        out.buf_mut().extend_from_slice(b"tail");
        expected.extend_from_slice(b"tail");
        (out, expected)
    }

    fn drain_by(out: &mut Output, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        for _ in 0..10_000 {
            if out.is_empty() {
                break;
            }
            let chunk = out.first_chunk();
            assert!(
                !chunk.is_empty(),
                "a pending queue has a non-empty first chunk"
            );
            let n = chunk.len().min(step);
            got.extend_from_slice(chunk.get(..n).unwrap_or_default());
            assert_eq!(out.consume(n), n);
        }
        got
    }

    #[test]
    fn chunks_come_out_in_order_at_any_write_size() {
        let (_, expected) = sample();
        for step in 1..=expected.len() + 1 {
            let (mut out, _) = sample();
            assert_eq!(out.len(), expected.len());
            assert_eq!(drain_by(&mut out, step), expected, "step {step}");
            assert_eq!(out.len(), 0);
        }
    }

    #[test]
    fn vectored_chunks_cover_everything_and_consume_crosses_chunks() {
        let (_, expected) = sample();
        for skip in 0..=expected.len() {
            let (mut out, _) = sample();
            assert_eq!(out.consume(skip), skip);
            let mut slots = [IoSlice::new(&[]); 16];
            let filled = out.chunks_vectored(&mut slots);
            let joined: Vec<u8> = slots
                .iter()
                .take(filled)
                .flat_map(|s| s.iter().copied())
                .collect();
            assert_eq!(
                joined,
                expected.get(skip..).unwrap_or_default(),
                "skip {skip}"
            );
            assert!(slots.iter().take(filled).all(|s| !s.is_empty()));
        }
    }

    #[test]
    fn vectored_stops_at_the_slots_given() {
        let (out, expected) = sample();
        let mut slots = [IoSlice::new(&[]); 2];
        assert_eq!(out.chunks_vectored(&mut slots), 2);
        let joined: Vec<u8> = slots.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(joined, expected.get(..12).unwrap_or_default());
    }

    #[test]
    fn take_and_consume_past_the_end() {
        let (mut out, expected) = sample();
        assert_eq!(out.take().to_vec(), expected);
        assert!(out.is_empty());
        let (mut out, expected) = sample();
        assert_eq!(out.consume(usize::MAX), expected.len());
        assert!(out.is_empty() && out.first_chunk().is_empty());
        // Positions stay right after the queue drained.
        let (mut again, expected_again) = sample();
        again.consume(3);
        let rest = again.take();
        assert_eq!(rest.to_vec(), expected_again.get(3..).unwrap_or_default());
    }
}
