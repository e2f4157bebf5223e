//! Per-connection statistics: what a [`Session`](crate::Session) counted so far.
//!
//! The session keeps one [`Stats`] value and bumps its counters with plain integer adds on
//! paths it takes anyway (a frame parsed, a frame queued, output consumed); it reads no
//! clock and allocates nothing for them. [`Session::stats`](crate::Session::stats) copies
//! the value out.

use std::time::Instant;

use crate::close::CloseCode;

/// Counters for one connection, from the session's creation on. A plain value: copy it,
/// subtract two snapshots, sum it over connections with [`Stats::merge`].
///
/// Counters are `u64` and wrap only after 2⁶⁴ (never, in practice). "In" is from the peer,
/// "out" is to the peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Whole data messages (text or binary) received: a fragmented message counts once,
    /// when its last frame arrives.
    pub messages_in: u64,
    /// Whole data messages queued for sending: one per `send_text`/`send_binary`, and one
    /// per caller-fragmented message (at its `fin` piece).
    pub messages_out: u64,
    /// Data payload bytes received, after the extension (decompressed). Control frames'
    /// payloads are not included.
    pub payload_bytes_in: u64,
    /// Data payload bytes queued for sending, before the extension (uncompressed). Control
    /// frames' payloads are not included.
    pub payload_bytes_out: u64,
    /// Bytes handed in from the transport (every byte passed to
    /// [`receive`](crate::Session::receive) or announced with
    /// [`received`](crate::Session::received)): frames as on the wire, headers and masks
    /// included, plus any bytes the session dropped unread after a close.
    pub wire_bytes_in: u64,
    /// Bytes handed out to the transport (given back through
    /// [`consume_output`](crate::Session::consume_output) or
    /// [`take_output`](crate::Session::take_output)): frames as on the wire. Output still
    /// pending is not counted yet.
    pub wire_bytes_out: u64,
    /// Frames parsed from the peer, data and control.
    pub frames_in: u64,
    /// Frames queued for the peer, data and control.
    pub frames_out: u64,
    /// Pings received.
    pub pings_in: u64,
    /// Pings queued (ours and keep-alive pings).
    pub pings_out: u64,
    /// Pongs received (including answers to keep-alive pings, which are not yielded as
    /// events unless [`Config::yield_keepalive_pongs`](crate::Config::yield_keepalive_pongs)).
    pub pongs_in: u64,
    /// Pongs queued (automatic answers to pings and our own).
    pub pongs_out: u64,
    /// Compression of received messages that the extension transformed (RFC 7692: those
    /// with RSV1 set); messages sent untransformed are not counted here.
    pub compression_in: Compression,
    /// Compression of sent messages that the extension transformed.
    pub compression_out: Compression,
    /// The status code of the peer's close frame; [`CloseCode::NO_STATUS`] (1005) for one
    /// without a code (RFC 6455 §7.1.5); `None` while none arrived.
    pub close_code_in: Option<CloseCode>,
    /// The status code of our close frame (ours, an echo of the peer's, or a failure's
    /// code, RFC 6455 §7.4.1); [`CloseCode::NO_STATUS`] for one sent without a code;
    /// `None` while none was sent.
    pub close_code_out: Option<CloseCode>,
    /// The `now` of the latest [`receive`](crate::Session::receive) or
    /// [`received`](crate::Session::received) that brought bytes: when the peer was last
    /// heard from. `None` before any byte.
    pub last_received: Option<Instant>,
    /// The latest `now` passed into any call (receive, send with time, close,
    /// [`handle_timeout`](crate::Session::handle_timeout)): the last time the session was
    /// told anything happened. Data sends without a `now` (`send_text`, `send_binary`) do
    /// not move it; the async driver passes the time with a data send only while a timer
    /// runs (keep-alive, idle, close: sparing a clock read per message otherwise), and with
    /// every control frame and close. `None` before any.
    pub last_activity: Option<Instant>,
}

/// Payload bytes before and after an extension's transform, for one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compression {
    /// Payload bytes as the application sees them (uncompressed).
    pub uncompressed: u64,
    /// The same payloads as carried in frames (compressed), headers excluded.
    pub compressed: u64,
}

impl Compression {
    /// `compressed / uncompressed` (0.25 means the wire carried a quarter of the bytes),
    /// or `None` when nothing was transformed.
    pub fn ratio(&self) -> Option<f64> {
        // Exact below 2⁵³ bytes; a ratio needs no more.
        (self.uncompressed != 0).then(|| self.compressed as f64 / self.uncompressed as f64)
    }

    /// Adds `other`'s bytes to these.
    pub const fn merge(&mut self, other: &Self) {
        self.uncompressed = self.uncompressed.wrapping_add(other.uncompressed);
        self.compressed = self.compressed.wrapping_add(other.compressed);
    }
}

impl Stats {
    /// Adds `other`'s counters to these (e.g. to sum over connections). Close codes and
    /// times are taken from `other` where it has them.
    pub fn merge(&mut self, other: &Self) {
        let counters = [
            (&mut self.messages_in, other.messages_in),
            (&mut self.messages_out, other.messages_out),
            (&mut self.payload_bytes_in, other.payload_bytes_in),
            (&mut self.payload_bytes_out, other.payload_bytes_out),
            (&mut self.wire_bytes_in, other.wire_bytes_in),
            (&mut self.wire_bytes_out, other.wire_bytes_out),
            (&mut self.frames_in, other.frames_in),
            (&mut self.frames_out, other.frames_out),
            (&mut self.pings_in, other.pings_in),
            (&mut self.pings_out, other.pings_out),
            (&mut self.pongs_in, other.pongs_in),
            (&mut self.pongs_out, other.pongs_out),
        ];
        for (mine, theirs) in counters {
            *mine = mine.wrapping_add(theirs);
        }
        self.compression_in.merge(&other.compression_in);
        self.compression_out.merge(&other.compression_out);
        self.close_code_in = other.close_code_in.or(self.close_code_in);
        self.close_code_out = other.close_code_out.or(self.close_code_out);
        self.last_received = self.last_received.max(other.last_received);
        self.last_activity = self.last_activity.max(other.last_activity);
    }
}

/// Adds `n` bytes to a counter (a `usize` always fits a `u64` on supported targets).
#[inline]
pub(crate) const fn add(counter: &mut u64, n: usize) {
    *counter = counter.wrapping_add(n as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_compressed_over_uncompressed_and_none_when_empty() {
        assert_eq!(Compression::default().ratio(), None);
        let c = Compression {
            uncompressed: 400,
            compressed: 100,
        };
        assert_eq!(c.ratio(), Some(0.25));
    }

    #[test]
    fn merge_sums_counters_and_keeps_the_latest_times() {
        let t0 = Instant::now();
        let t1 = t0 + std::time::Duration::from_secs(1);
        let mut a = Stats {
            messages_in: 2,
            wire_bytes_out: 10,
            last_received: Some(t1),
            close_code_in: Some(CloseCode::NORMAL),
            ..Stats::default()
        };
        let b = Stats {
            messages_in: 3,
            wire_bytes_out: 5,
            last_received: Some(t0),
            compression_in: Compression {
                uncompressed: 8,
                compressed: 2,
            },
            ..Stats::default()
        };
        a.merge(&b);
        assert_eq!(a.messages_in, 5);
        assert_eq!(a.wire_bytes_out, 15);
        assert_eq!(a.last_received, Some(t1));
        assert_eq!(a.close_code_in, Some(CloseCode::NORMAL));
        assert_eq!(a.compression_in.ratio(), Some(0.25));
    }
}
