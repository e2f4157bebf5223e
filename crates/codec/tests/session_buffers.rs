#![allow(clippy::unwrap_used, clippy::panic)]
//! An idle session keeps no buffer: `release_idle_buffers` frees the empty ones and keeps
//! what is still owed (unwritten output, a partly received frame).

use std::time::Instant;

use wintergreen_codec::{Config, Event, Message, Role, Session};

fn pair() -> (Session, Session) {
    let now = Instant::now();
    let mut client = Session::new(Role::Client, Config::default()).with_rng_seed(1);
    let mut server = Session::new(Role::Server, Config::default());
    client.handle_timeout(now);
    server.handle_timeout(now);
    (client, server)
}

#[test]
fn empty_buffers_are_released_and_messages_keep_their_bytes() {
    let (mut client, mut server) = pair();
    // Larger than the output buffer an idle session keeps (1 KiB).
    client.send_binary(&[5; 2000]).unwrap();
    // Unwritten output stays.
    client.release_idle_buffers();
    assert!(client.has_pending_output());
    server.receive(Instant::now(), client.pending_output());
    assert!(server.buffer_capacity() > 0);
    client.consume_output(client.pending_output().len());
    client.release_idle_buffers();
    assert_eq!(client.buffer_capacity(), 0);

    let message = match server.poll_event() {
        Some(Ok(Event::Message(message))) => message,
        other => panic!("unexpected {other:?}"),
    };
    server.release_idle_buffers();
    assert_eq!(server.buffer_capacity(), 0);
    // The message shares the released buffer's allocation and outlives it.
    assert_eq!(message, Message::binary(vec![5; 2000]));
}

#[test]
fn a_partly_received_frame_is_kept() {
    let (mut client, mut server) = pair();
    client.send_binary(&[5; 300]).unwrap();
    let wire = client.take_output();
    let (head, rest) = wire.split_at(100);
    server.receive(Instant::now(), head);
    assert!(server.poll_event().is_none());
    // The header is parsed; the payload's first bytes wait for the rest.
    let waiting = server.buffered_input();
    assert!(waiting > 0);
    server.release_idle_buffers();
    assert_eq!(server.buffered_input(), waiting);
    server.receive(Instant::now(), rest);
    match server.poll_event() {
        Some(Ok(Event::Message(message))) => assert_eq!(message, Message::binary(vec![5; 300])),
        other => panic!("unexpected {other:?}"),
    }
}

/// Sends `len` bytes, writes them out and lets the session go idle: the output room kept.
fn kept_after_sending(client: &mut Session, len: usize) -> usize {
    client.send_binary(&vec![5; len]).unwrap();
    client.consume_output(client.pending_output().len());
    client.release_idle_buffers();
    client.buffer_capacity()
}

#[test]
fn a_small_or_1_kib_output_buffer_is_kept_and_a_larger_one_freed() {
    // (payload, the least and the most room kept): a 20 B message's frame, and a 1 KiB
    // one's (1,032 bytes: a 16-bit length and a mask key), within 1 KiB and the longest
    // header (14 bytes).
    for (len, least, most) in [(20, 1, 1024), (1024, 1032, 1024 + 14)] {
        let (mut client, _server) = pair();
        let kept = kept_after_sending(&mut client, len);
        assert!((least..=most).contains(&kept), "{len} B: kept {kept}");
        // The next such message needs no allocation: the room is the same.
        assert_eq!(kept_after_sending(&mut client, len), kept, "{len} B");
        // A longer message's room goes.
        assert_eq!(kept_after_sending(&mut client, 1100), 0, "{len} B");
    }
}
