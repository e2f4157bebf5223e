//! The receive buffer: frames that straddle the caller's reads complete in place (the
//! input after them is kept apart), and every way of handing bytes in keeps the stream's
//! order.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::{messages, session, t0};
use wintergreen_codec::{Message, OpCode, Role, Rsv, encode_frame};

/// `n` unmasked binary frames of `size` bytes, each filled with its own index.
fn server_frames(n: usize, size: usize) -> (Vec<u8>, Vec<Message>) {
    let mut wire = BytesMut::new();
    let mut sent = Vec::new();
    for i in 0..n {
        let payload = vec![i as u8; size];
        encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, &payload);
        sent.push(Message::binary(payload));
    }
    (wire.to_vec(), sent)
}

#[test]
fn frames_straddling_every_read_arrive_intact_and_in_order() {
    // 64 KiB frames in 128 KiB reads: nearly every read ends inside a frame.
    let (wire, sent) = server_frames(9, 64 << 10);
    let mut client = session(Role::Client);
    let mut got = Vec::new();
    for chunk in wire.chunks(128 << 10) {
        client.receive(t0(), chunk);
        got.extend(messages(&mut client));
    }
    assert!(got == sent, "messages differ from those sent");
    assert_eq!(client.buffered_input(), 0);
}

#[test]
fn the_receive_buffer_after_kept_apart_input_keeps_the_order() {
    let (wire, sent) = server_frames(4, 64 << 10);
    let mut client = session(Role::Client);
    // Part of the first frame; polling parses its header.
    let (first, rest) = wire.split_at(40 << 10);
    client.receive(t0(), first);
    assert!(messages(&mut client).is_empty());
    // More than the buffer has room for: the first frame completes in place, the rest is
    // kept apart; nothing is parsed yet.
    let (second, rest) = rest.split_at(200 << 10);
    client.receive(t0(), second);
    assert_eq!(client.buffered_input(), first.len() - 10 + second.len());
    // The rest read straight into the receive buffer, as a driver does.
    client.receive_buffer().extend_from_slice(rest);
    client.received(t0(), rest.len());
    assert!(
        messages(&mut client) == sent,
        "messages differ from those sent"
    );
    assert_eq!(client.buffered_input(), 0);
}
