//! `Session::stats`: exact counts for a scripted conversation between an in-memory client
//! and server, with frame sizes computed from the layout of RFC 6455 §5.2.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use std::time::Duration;

use common::{events, messages, session, t0};
use wintergreen_codec::{
    CloseCode, Config, DataKind, Event, Message, Role, Session, Stats, encode_frame,
};

/// The size of a frame on the wire (§5.2): 2 bytes, plus 2 or 8 for a long length, plus
/// 4 for a mask key, plus the payload.
fn frame_len(payload: usize, masked: bool) -> u64 {
    let length = match payload {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    (2 + length + if masked { 4 } else { 0 } + payload) as u64
}

/// Moves all of `from`'s output into `to` at `at`, in one `receive`.
fn transfer(from: &mut Session, to: &mut Session, at: std::time::Instant) {
    let out = from.take_output();
    to.receive(at, &out);
}

#[test]
fn a_scripted_conversation_is_counted_exactly_on_both_ends() {
    let (start, later, end) = (
        t0(),
        t0() + Duration::from_secs(1),
        t0() + Duration::from_secs(2),
    );
    let mut client = session(Role::Client);
    let mut server = session(Role::Server);
    client.handle_timeout(start);
    server.handle_timeout(start);
    let mut expected = Stats::default();
    expected.last_activity = Some(start);
    assert_eq!(
        client.stats(),
        expected,
        "nothing counted before anything crossed"
    );

    // Client → server: a text message, a binary one, a ping, and a text message in two
    // fragments (one message, two frames).
    let binary = vec![7u8; 300];
    client.send_text("hello").unwrap();
    client.send_binary(&binary).unwrap();
    client.send_ping(b"p").unwrap();
    client.send_fragment(DataKind::Text, b"ab", false).unwrap();
    client.send_fragment(DataKind::Text, b"cd", true).unwrap();
    transfer(&mut client, &mut server, later);
    assert_eq!(
        messages(&mut server),
        vec![
            Message::text("hello"),
            Message::binary(binary.clone()),
            Message::Ping(bytes::Bytes::from_static(b"p")),
            Message::text("abcd"),
        ]
    );

    // Server → client: the automatic pong, a binary message; then the client closes and
    // the server echoes the code.
    server.send_binary(&[1u8; 10]).unwrap();
    transfer(&mut server, &mut client, later);
    assert_eq!(messages(&mut client).len(), 2, "a pong and a message");
    client.close(end, CloseCode::NORMAL, "bye").unwrap();
    transfer(&mut client, &mut server, end);
    assert_eq!(messages(&mut server).len(), 1, "the close frame");
    transfer(&mut server, &mut client, end);
    assert_eq!(messages(&mut client).len(), 1, "the close echo");

    let client_wire = frame_len(5, true)
        + frame_len(300, true)
        + frame_len(1, true)
        + 2 * frame_len(2, true)
        + frame_len(2 + 3, true);
    let server_wire = frame_len(1, false) + frame_len(10, false) + frame_len(2, false);
    let mut expected = Stats::default();
    // The client's side.
    expected.messages_out = 3;
    expected.payload_bytes_out = 5 + 300 + 4;
    expected.wire_bytes_out = client_wire;
    expected.frames_out = 6;
    expected.pings_out = 1;
    expected.close_code_out = Some(CloseCode::NORMAL);
    expected.messages_in = 1;
    expected.payload_bytes_in = 10;
    expected.wire_bytes_in = server_wire;
    expected.frames_in = 3;
    expected.pongs_in = 1;
    expected.close_code_in = Some(CloseCode::NORMAL);
    expected.last_received = Some(end);
    expected.last_activity = Some(end);
    assert_eq!(client.stats(), expected);

    // The server's side: the mirror image, with a pong for the ping.
    (expected.messages_in, expected.messages_out) = (3, 1);
    (expected.payload_bytes_in, expected.payload_bytes_out) = (5 + 300 + 4, 10);
    (expected.wire_bytes_in, expected.wire_bytes_out) = (client_wire, server_wire);
    (expected.frames_in, expected.frames_out) = (6, 3);
    (expected.pings_in, expected.pings_out) = (1, 0);
    (expected.pongs_in, expected.pongs_out) = (0, 1);
    assert_eq!(server.stats(), expected);
}

#[test]
fn any_split_of_the_input_gives_the_same_counts() {
    let mut client = session(Role::Client);
    for size in [0, 5, 126, 70_000] {
        client.send_binary(&vec![3u8; size]).unwrap();
    }
    client.send_pong(b"unsolicited").unwrap();
    let wire = client.take_output();

    let mut whole = session(Role::Server);
    whole.receive(t0(), &wire);
    let mut bytewise = session(Role::Server);
    for byte in wire.iter() {
        bytewise.receive(t0(), std::slice::from_ref(byte));
        drop(events(&mut bytewise));
    }
    let counted = {
        drop(events(&mut whole));
        whole.stats()
    };
    assert_eq!(counted, bytewise.stats());
    assert_eq!(counted.messages_in, 4);
    assert_eq!(counted.frames_in, 5);
    assert_eq!(counted.pongs_in, 1);
    assert_eq!(counted.payload_bytes_in, 5 + 126 + 70_000);
    assert_eq!(counted.wire_bytes_in, wire.len() as u64);
    assert_eq!(client.stats().wire_bytes_out, wire.len() as u64);
}

#[test]
fn streaming_mode_counts_a_fragmented_message_once() {
    let mut config = Config::default();
    config.streaming = true;
    let mut client = Session::new(Role::Client, config);
    let mut wire = bytes::BytesMut::new();
    for (opcode, fin, piece) in [
        (wintergreen_codec::OpCode::Binary, false, &b"one"[..]),
        (wintergreen_codec::OpCode::Continuation, false, b"two"),
        (wintergreen_codec::OpCode::Continuation, true, b"three"),
    ] {
        encode_frame(
            &mut wire,
            fin,
            wintergreen_codec::Rsv::NONE,
            opcode,
            None,
            piece,
        );
    }
    client.receive(t0(), &wire);
    let fragments = events(&mut client)
        .into_iter()
        .filter(|event| matches!(event, Ok(Event::Fragment(_))))
        .count();
    assert_eq!(fragments, 3);
    let stats = client.stats();
    assert_eq!((stats.messages_in, stats.frames_in), (1, 3));
    assert_eq!(stats.payload_bytes_in, 3 + 3 + 5);
}

#[test]
fn a_close_without_status_counts_as_1005_and_a_failure_counts_its_code() {
    // §7.1.5: no status code in the peer's close frame means 1005.
    let mut client = session(Role::Client);
    let mut server = session(Role::Server);
    client.close_without_status(t0()).unwrap();
    transfer(&mut client, &mut server, t0());
    drop(events(&mut server));
    assert_eq!(client.stats().close_code_out, Some(CloseCode::NO_STATUS));
    assert_eq!(server.stats().close_code_in, Some(CloseCode::NO_STATUS));
    assert_eq!(server.stats().close_code_out, Some(CloseCode::NO_STATUS));

    // An unmasked frame to a server fails the connection with 1002 (§5.1).
    let mut server = session(Role::Server);
    let mut unmasked = bytes::BytesMut::new();
    encode_frame(
        &mut unmasked,
        true,
        wintergreen_codec::Rsv::NONE,
        wintergreen_codec::OpCode::Text,
        None,
        b"hi",
    );
    server.receive(t0(), &unmasked);
    assert!(matches!(server.poll_event(), Some(Err(_))));
    let stats = server.stats();
    assert_eq!(stats.close_code_out, Some(CloseCode::PROTOCOL_ERROR));
    assert_eq!((stats.messages_in, stats.frames_in), (0, 0));
    assert_eq!(stats.close_code_in, None);
}

#[test]
fn wire_bytes_out_counts_only_what_was_consumed() {
    let mut client = session(Role::Client);
    client.send_binary(&[0u8; 100]).unwrap();
    let queued = client.pending_output().len();
    assert_eq!(client.stats().wire_bytes_out, 0, "nothing written yet");
    client.consume_output(10);
    assert_eq!(client.stats().wire_bytes_out, 10);
    client.consume_output(queued);
    assert_eq!(client.stats().wire_bytes_out, queued as u64);
    assert_eq!(client.stats().frames_out, 1);
}
