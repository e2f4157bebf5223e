//! One spare receive buffer per thread.
//!
//! An idle connection gives its empty receive buffer back (see
//! [`Session::release_idle_buffers`](wintergreen_codec::Session::release_idle_buffers)) and
//! takes one again at its next read. Handing the buffer through this slot instead of the
//! allocator saves a 64 KiB `malloc`/`free` pair per message on connections that go idle
//! between messages (about 1,200 instructions of the client's 5,900 per 20 B echo, measured
//! with callgrind), while memory stays bounded: one buffer per thread, whatever the number of
//! connections.

use std::cell::Cell;

use bytes::BytesMut;

thread_local! {
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// A buffer with room for at least half of `want` bytes (what the driver asks of a read
/// buffer): the thread's spare as it is when it has that room (a 20 B message uses 22 B of
/// 64 KiB: reclaiming the rest at every take cost more than half of this function), else
/// the spare reclaimed when no received message still shares it, else a new one.
#[inline]
pub(crate) fn take(want: usize) -> BytesMut {
    if let Some(mut buf) = SPARE.with(Cell::take) {
        if buf.capacity() >= want / 2 || buf.try_reclaim(want) {
            return buf;
        }
    }
    BytesMut::with_capacity(want)
}

/// Keeps the empty `buf` as the thread's spare (freeing the previous one, if any).
#[inline]
pub(crate) fn give(buf: BytesMut) {
    debug_assert!(buf.is_empty(), "only empty buffers are given back");
    drop(SPARE.with(|slot| slot.replace(Some(buf))));
}

#[cfg(test)]
mod tests {
    use super::{give, take};

    #[test]
    fn a_buffer_given_back_is_taken_again_unless_a_message_shares_it() {
        let buf = take(1024);
        let first = buf.as_ptr();
        give(buf);
        let mut buf = take(1024);
        assert_eq!(buf.as_ptr(), first, "the spare is reused");

        buf.extend_from_slice(b"abc");
        let message = buf.split().freeze();
        give(buf);
        let buf = take(1024);
        assert_ne!(buf.as_ptr(), first, "the message's bytes stay its own");
        assert_eq!(&message[..], b"abc");
    }
}
