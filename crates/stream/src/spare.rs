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
///
/// Called twice per message on a connection that goes idle between messages (and
/// [`give`] as often): both are inlined into the driver, the rare cases kept out of line
/// (a call each cost about 35 instructions, callgrind).
#[inline(always)]
pub(crate) fn take(want: usize) -> BytesMut {
    match SPARE.take() {
        Some(buf) if buf.capacity() >= want / 2 => buf,
        spare => reclaim_or_new(spare, want),
    }
}

/// [`take`] when the spare is missing or short of room.
#[cold]
fn reclaim_or_new(spare: Option<BytesMut>, want: usize) -> BytesMut {
    if let Some(mut buf) = spare {
        if buf.try_reclaim(want) {
            return buf;
        }
    }
    BytesMut::with_capacity(want)
}

/// Moves the empty `buf` to the thread's spare slot (freeing the previous spare, if any),
/// leaving `buf` without capacity.
#[inline(always)]
pub(crate) fn give(buf: &mut BytesMut) {
    debug_assert!(buf.is_empty(), "only empty buffers are given back");
    // Not `LocalKey::set` (its out-of-line `initialize_with` cost 43 instructions a call),
    // and the buffer moved inside the closure, which keeps the call small (callgrind).
    SPARE.with(|slot| slot.set(Some(std::mem::take(buf))));
}

#[cfg(test)]
mod tests {
    use super::{give, take};

    #[test]
    fn a_buffer_given_back_is_taken_again_unless_a_message_shares_it() {
        let mut buf = take(1024);
        let first = buf.as_ptr();
        give(&mut buf);
        let mut buf = take(1024);
        assert_eq!(buf.as_ptr(), first, "the spare is reused");

        buf.extend_from_slice(b"abc");
        let message = buf.split().freeze();
        give(&mut buf);
        assert_eq!(buf.capacity(), 0, "the buffer went to the slot");
        let buf = take(1024);
        assert_ne!(buf.as_ptr(), first, "the message's bytes stay its own");
        assert_eq!(&message[..], b"abc");
    }
}
