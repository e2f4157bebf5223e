//! Reading straight into the receive buffer the way the async driver does:
//! `Session::prepare_receive`, a read of at most what it returns into the buffer's spare
//! capacity, then `received`. Every split of the input gives the same messages, the room a
//! frame makes stays bounded, and idle buffers are still freed.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::{messages, session, t0};
use wintergreen_codec::{
    ConnectionError, Message, OpCode, ProtocolError, Role, Rsv, Session, encode_frame,
};

/// Unmasked binary frames of the given sizes, each filled with its own index.
fn server_frames(sizes: &[usize]) -> (Vec<u8>, Vec<Message>) {
    let mut wire = BytesMut::new();
    let mut sent = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let payload = vec![i as u8; size];
        encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, &payload);
        sent.push(Message::binary(payload));
    }
    (wire.to_vec(), sent)
}

/// One read as the driver does it: a capacity if the buffer has none, `prepare_receive`,
/// then at most what it allows and the buffer has room for, from `src`. Bytes read.
fn read_into(client: &mut Session, want: usize, src: &[u8]) -> usize {
    if client.receive_buffer().capacity() == 0 {
        *client.receive_buffer() = BytesMut::with_capacity(want);
    }
    let limit = client.prepare_receive(want);
    assert!(limit > 0, "a read of nothing would look like the end");
    let buf = client.receive_buffer();
    let room = buf.capacity() - buf.len();
    assert!(room > 0, "no room to read into");
    let n = limit.min(room).min(src.len());
    buf.extend_from_slice(&src[..n]);
    client.received(t0(), n);
    n
}

/// Feeds `arrivals` (what the transport has at each moment) through driver-like reads,
/// polling before each read as the driver does; the messages.
fn drive(client: &mut Session, want: usize, arrivals: &[&[u8]]) -> Vec<Message> {
    let mut got = Vec::new();
    for arrival in arrivals {
        let mut at = 0;
        // Each read takes at least one byte: bounded by the arrival's length.
        while at < arrival.len() {
            got.extend(messages(client));
            at += read_into(client, want, &arrival[at..]);
        }
    }
    got.extend(messages(client));
    got
}

#[test]
fn frames_split_at_every_byte_through_the_receive_buffer_give_the_same_messages() {
    // With reads of 256 bytes, frames from 128 bytes up are long (read to their end, then
    // guessed): short, long, longer than a read, empty, and short again.
    let want = 256;
    let (wire, sent) = server_frames(&[3, 16, 200, 1000, 5, 300, 0, 130, 129, 2, 700]);
    for split in 0..=wire.len() {
        let mut client = session(Role::Client);
        let (first, rest) = wire.split_at(split);
        let got = drive(&mut client, want, &[first, rest]);
        assert!(got == sent, "split at {split}: messages differ");
        assert_eq!(client.buffered_input(), 0, "split at {split}");
    }
}

#[test]
fn long_frames_in_one_arrival_are_read_in_place_and_in_order() {
    // The bench's shape: 64 KiB frames with the driver's 64 KiB reads.
    let (wire, sent) = server_frames(&[64 << 10; 6]);
    let mut client = session(Role::Client);
    let got = drive(&mut client, 64 << 10, &[&wire]);
    assert!(got == sent, "messages differ from those sent");
}

#[test]
fn long_frames_whose_messages_are_dropped_are_each_read_at_the_front_of_one_buffer() {
    // 64 KiB frames with 64 KiB reads, each message dropped before the next read (as the
    // bench and most applications do): every read that starts a frame lands at the same
    // address, the front of one reclaimed allocation, instead of moving on through it.
    let want = 64 << 10;
    let (wire, sent) = server_frames(&[64 << 10; 8]);
    let mut client = session(Role::Client);
    let (mut at, mut got, mut starts) = (0, 0, Vec::new());
    // Each read takes at least one byte: bounded by the wire's length.
    while at < wire.len() {
        for message in messages(&mut client) {
            assert!(message == sent[got], "message {got} differs");
            got += 1;
        }
        let held = client.buffered_input();
        at += read_into(&mut client, want, &wire[at..]);
        if held == 0 {
            starts.push(client.receive_buffer().as_ptr());
        }
    }
    got += messages(&mut client).len();
    assert_eq!(got, sent.len());
    // From the second frame on (the first one's header grew the buffer).
    assert!(starts.len() >= sent.len() - 1, "{} reads", starts.len());
    let front = starts[1];
    assert!(starts[1..].iter().all(|&p| p == front), "{starts:?}");
}

#[test]
fn an_announced_length_reserves_at_most_the_frame_and_a_bounded_headroom() {
    let want = 64 << 10;
    let mut client = session(Role::Client);
    // A header announcing a 16 MiB payload (the default limit), and 100 bytes of it.
    let announced = 16 << 20;
    let (wire, _) = server_frames(&[announced]);
    let header = 10;
    drive(&mut client, want, &[&wire[..header + 100]]);
    let limit = client.prepare_receive(want);
    assert_eq!(limit, announced - 100, "a read of exactly the frame's rest");
    let cap = client.receive_buffer().capacity();
    assert!(cap >= announced, "room for the announced payload: {cap}");
    // The header's reservation: the payload and 128 KiB (and the allocator's rounding).
    assert!(cap <= announced + (256 << 10), "reserved {cap}");
}

#[test]
fn a_header_over_the_frame_limit_makes_no_room_for_it() {
    let want = 64 << 10;
    let mut client = session(Role::Client);
    let (wire, _) = server_frames(&[(16 << 20) + 1]);
    assert_eq!(read_into(&mut client, want, &wire[..14]), 14);
    let failed = common::events(&mut client);
    assert!(
        matches!(
            failed.last(),
            Some(Err(ConnectionError::Protocol(
                ProtocolError::FrameTooLarge { .. }
            )))
        ),
        "{failed:?}"
    );
    // The connection failed: its input is dropped, and no read makes room for the frame.
    let cap = client.receive_buffer().capacity();
    assert!(cap <= want, "reserved {cap}");
}

#[test]
fn the_guess_after_a_long_frame_is_bounded() {
    let want = 64 << 10;
    let mut client = session(Role::Client);
    // A 4 MiB message that the application keeps: its buffer cannot be reclaimed.
    let (wire, sent) = server_frames(&[4 << 20]);
    let got = drive(&mut client, want, &[&wire]);
    assert!(got == sent);
    client.release_idle_buffers();
    *client.receive_buffer() = BytesMut::with_capacity(want);
    let limit = client.prepare_receive(want);
    let cap = client.receive_buffer().capacity();
    // At most 1 MiB and a header, guessed from the last frame, not its 4 MiB.
    assert!(limit <= (1 << 20) + 14, "read of {limit}");
    assert!(limit > want, "a long frame is guessed to follow: {limit}");
    assert!(cap <= (1 << 20) + 14, "reserved {cap}");
    drop(got);
}

#[test]
fn idle_release_still_frees_after_reads_into_the_receive_buffer() {
    let want = 64 << 10;
    for sizes in [&[16usize; 8][..], &[64 << 10, 64 << 10][..], &[1 << 20][..]] {
        let mut client = session(Role::Client);
        let (wire, sent) = server_frames(sizes);
        let got = drive(&mut client, want, &[&wire]);
        assert!(got == sent);
        // The driver prepares the next read, finds nothing to read, and releases.
        client.prepare_receive(want);
        assert!(client.receive_buffer().capacity() != 0);
        client.release_idle_buffers();
        assert_eq!(
            client.receive_buffer().capacity(),
            0,
            "{} frames of {}: the empty buffer is freed",
            sizes.len(),
            sizes[0]
        );
    }
}

#[test]
fn a_long_frame_that_fails_midway_gets_no_more_room() {
    let want = 64 << 10;
    let mut client = session(Role::Client);
    // A 1 MiB text frame whose first bytes are not UTF-8: it fails while in progress.
    let mut payload = vec![b'a'; 1 << 20];
    payload[..4].copy_from_slice(&[0xff; 4]);
    let mut wire = BytesMut::new();
    encode_frame(&mut wire, true, Rsv::NONE, OpCode::Text, None, &payload);
    assert_eq!(read_into(&mut client, want, &wire[..4 << 10]), 4 << 10);
    let failed = common::events(&mut client);
    assert!(
        matches!(failed.last(), Some(Err(ConnectionError::Protocol(_)))),
        "{failed:?}"
    );
    // The driver goes on reading (for the peer's close); the frame's rest gets no room.
    let limit = client.prepare_receive(want);
    let cap = client.receive_buffer().capacity();
    assert!(limit <= want && cap <= want, "read of {limit} into {cap}");
}
