//! The receive buffer: frames that straddle the caller's reads complete in place (the
//! input after them is kept apart), and every way of handing bytes in keeps the stream's
//! order.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::{messages, session, t0};
use wintergreen_codec::{
    Config, ConnectionError, Event, Message, OpCode, ProtocolError, Role, Rsv, Session,
    encode_frame,
};

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

/// Hands `wire` to `client` in reads of `read` bytes, polling after each; the messages.
fn receive_in_reads(client: &mut Session, wire: &[u8], read: usize) -> Vec<Message> {
    let mut got = Vec::new();
    for chunk in wire.chunks(read) {
        client.receive(t0(), chunk);
        got.extend(messages(client));
    }
    got
}

#[test]
fn frames_straddling_every_read_arrive_intact_and_in_order() {
    // 64 KiB frames in 128 KiB reads: nearly every read ends inside a frame.
    let (wire, sent) = server_frames(9, 64 << 10);
    let mut client = session(Role::Client);
    let got = receive_in_reads(&mut client, &wire, 128 << 10);
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

/// Frames of mixed sizes: many small ones, then long ones, then small ones again.
fn mixed_frames() -> (Vec<u8>, Vec<Message>) {
    let mut wire = BytesMut::new();
    let mut sent = Vec::new();
    let sizes = [
        16,
        3,
        1 << 10,
        40 << 10,
        64 << 10,
        0,
        200 << 10,
        125,
        64 << 10,
        1 << 20,
        7,
    ];
    for (i, size) in sizes.iter().cycle().take(40).enumerate() {
        let payload = vec![i as u8; *size];
        encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, &payload);
        sent.push(Message::binary(payload));
    }
    (wire.to_vec(), sent)
}

#[test]
fn frames_of_any_size_in_reads_of_any_size_arrive_intact_and_in_order() {
    let (wire, sent) = mixed_frames();
    for read in [
        1,
        13,
        4 << 10,
        5000,
        64 << 10,
        100_000,
        128 << 10,
        300 << 10,
        3 << 20,
    ] {
        let mut client = session(Role::Client);
        let got = receive_in_reads(&mut client, &wire, read);
        assert!(got == sent, "reads of {read} bytes: messages differ");
        assert_eq!(client.buffered_input(), 0);
    }
}

#[test]
fn two_reads_before_polling_keep_the_order() {
    let (wire, sent) = mixed_frames();
    let mut client = session(Role::Client);
    let mut got = Vec::new();
    // Each pair of reads is parsed only after both arrived: the second lands behind input
    // that is not parsed yet.
    for pair in wire.chunks(180 << 10) {
        let (a, b) = pair.split_at(pair.len() / 3);
        client.receive(t0(), a);
        client.receive(t0(), b);
        got.extend(messages(&mut client));
    }
    assert!(got == sent, "messages differ from those sent");
}

#[test]
fn a_header_over_the_frame_limit_in_an_input_reserves_nothing_and_fails_in_order() {
    let mut config = Config::default();
    config.max_frame_size = 64 << 10;
    let mut client = Session::new(Role::Client, config);
    let mut wire = BytesMut::new();
    encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, &[1; 5000]);
    // A binary frame claiming 1 GiB, of which only the header arrives.
    wire.extend_from_slice(&[0x82, 127, 0, 0, 0, 0, 0x40, 0, 0, 0]);
    client.receive(t0(), &wire);
    assert!(
        client.buffer_capacity() < 64 << 10,
        "room reserved for a frame over the limit: {}",
        client.buffer_capacity()
    );
    assert!(
        matches!(client.poll_event(), Some(Ok(Event::Message(Message::Binary(m)))) if m.len() == 5000)
    );
    match client.poll_event() {
        Some(Err(ConnectionError::Protocol(ProtocolError::FrameTooLarge { len, limit }))) => {
            assert_eq!((len, limit), (1 << 30, 64 << 10));
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
}

#[test]
fn a_reserved_opcode_after_a_long_frame_in_one_input_fails_after_the_frame() {
    let mut client = session(Role::Client);
    let mut wire = BytesMut::new();
    encode_frame(
        &mut wire,
        true,
        Rsv::NONE,
        OpCode::Binary,
        None,
        &[2; 70_000],
    );
    wire.extend_from_slice(&[0x83, 2, 0, 0]);
    encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, &[3; 10]);
    client.receive(t0(), &wire);
    assert!(
        matches!(client.poll_event(), Some(Ok(Event::Message(Message::Binary(m)))) if m.len() == 70_000)
    );
    assert!(matches!(
        client.poll_event(),
        Some(Err(ConnectionError::Protocol(
            ProtocolError::InvalidOpcode(3)
        )))
    ));
    assert!(
        client.poll_event().is_none(),
        "nothing is parsed after the failure"
    );
}

#[test]
fn the_second_buffer_is_freed_when_idle() {
    let (wire, sent) = mixed_frames();
    let mut client = session(Role::Client);
    let got = receive_in_reads(&mut client, &wire, 128 << 10);
    assert!(got == sent, "messages differ from those sent");
    client.release_idle_buffers();
    assert_eq!(client.buffer_capacity(), 0);
}
