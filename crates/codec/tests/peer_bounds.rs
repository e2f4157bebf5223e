#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! What a peer can make us queue stays bounded (RFC 6455 §5.5.2, §5.5.3, §5.5.1): a flood
//! of pings that the peer never reads the answers to, sent whole or split anywhere, leaves
//! at most `max_pending_output` plus one control frame queued, and the last ping is the one
//! answered.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use proptest::prelude::*;
use wintergreen_codec::{
    CloseCode, Config, Event, FrameDecoder, Message, OpCode, Role, Rsv, Session, encode_frame,
};

/// A pong's frame: 2 header bytes, a 4-byte mask (client side) and 125 payload bytes.
const MAX_CONTROL_FRAME: usize = 2 + 4 + 125;

/// Ping `i` as a peer of `receiver` sends it: `89 FD` (+ mask) + 125 bytes that name `i`.
fn ping(receiver: Role, i: u32) -> Vec<u8> {
    let mut payload = [b'p'; 125];
    payload[..4].copy_from_slice(&i.to_be_bytes());
    raw_frame(receiver, true, Rsv::NONE, OpCode::Ping, &payload)
}

fn flood(receiver: Role, count: u32) -> Vec<u8> {
    (0..count).flat_map(|i| ping(receiver, i)).collect()
}

fn bound(session: &Session) -> usize {
    session.config().max_pending_output + MAX_CONTROL_FRAME
}

/// Decodes `out` into the pong payloads' ping numbers, in order.
fn pong_numbers(out: &[u8]) -> Vec<u32> {
    let mut buf = BytesMut::from(out);
    let mut decoder = FrameDecoder::new(usize::MAX);
    let mut numbers = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        assert_eq!(frame.header.opcode, OpCode::Pong);
        numbers.push(u32::from_be_bytes(frame.payload[..4].try_into().unwrap()));
    }
    assert!(buf.is_empty());
    numbers
}

#[test]
fn ping_flood_never_read_leaves_bounded_output() {
    // The reproduction of issue 11: 100,000 masked 125-byte pings, output never consumed.
    // Before the bound, the pending output held 12.7 MB.
    let mut server = session(Role::Server);
    server.receive(t0(), &flood(Role::Server, 100_000));
    let mut yielded = 0;
    while let Some(event) = server.poll_event() {
        assert!(matches!(event, Ok(Event::Message(Message::Ping(_)))));
        yielded += 1;
        assert!(server.pending_output().len() <= bound(&server));
    }
    assert_eq!(yielded, 100_000, "every ping is still yielded");
    assert!(server.pending_output().len() <= bound(&server));
    assert!(server.is_output_over_limit());
    assert!(!server.wants_read(), "the driver should stop reading");
}

#[test]
fn after_a_flood_the_most_recent_ping_is_answered_once_output_drains() {
    let mut server = session(Role::Server);
    server.receive(t0(), &flood(Role::Server, 5_000));
    events(&mut server);
    let first = server.take_output();
    let mut answered = pong_numbers(&first);
    answered.extend(pong_numbers(&server.take_output()));
    assert!(server.take_output().is_empty());
    assert_eq!(answered.last(), Some(&4_999), "the last ping is answered");
    assert!(
        answered.windows(2).all(|w| w[0] < w[1]),
        "answers keep order"
    );
    assert!(server.wants_read());
}

#[test]
fn client_side_ping_flood_is_bounded_too() {
    let mut client = session(Role::Client);
    client.receive(t0(), &flood(Role::Client, 20_000));
    while client.poll_event().is_some() {
        assert!(client.pending_output().len() <= bound(&client));
    }
    let mut out = client.take_output().to_vec();
    out.extend_from_slice(&client.take_output());
    assert_eq!(pong_numbers(&out).last(), Some(&19_999));
}

/// A server with `max_pending_output = limit` that was sent `pings` pings at once.
fn flooded_server(limit: usize, pings: u32) -> Session {
    let mut config = Config::default();
    config.max_pending_output = limit;
    let mut server = Session::new(Role::Server, config);
    server.receive(t0(), &flood(Role::Server, pings));
    events(&mut server);
    server
}

#[test]
fn a_smaller_limit_is_honoured() {
    let server = flooded_server(1024, 1_000);
    assert!(server.pending_output().len() <= 1024 + MAX_CONTROL_FRAME);
}

#[test]
fn a_limit_of_zero_still_answers_one_ping_at_a_time() {
    let mut server = flooded_server(0, 3);
    assert!(server.pending_output().len() <= MAX_CONTROL_FRAME);
    assert!(!server.wants_read());
    let n = server.pending_output().len();
    server.consume_output(n);
    assert_eq!(
        pong_numbers(server.pending_output()),
        vec![2],
        "the latest ping"
    );
    let n = server.pending_output().len();
    server.consume_output(n);
    assert!(server.wants_read());
    assert!(!server.has_pending_output());
}

#[test]
fn the_pong_kept_aside_goes_out_before_our_close() {
    let mut server = flooded_server(256, 10);
    server.close(t0(), CloseCode::NORMAL, "").unwrap();
    let mut buf = server.take_output();
    buf.extend_from_slice(&server.take_output());
    let mut decoder = FrameDecoder::new(usize::MAX);
    let mut opcodes = Vec::new();
    let mut last_pong = None;
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        if frame.header.opcode == OpCode::Pong {
            last_pong = Some(frame.payload[..4].to_vec());
        }
        opcodes.push(frame.header.opcode);
    }
    assert_eq!(
        opcodes.last(),
        Some(&OpCode::Close),
        "nothing after the close"
    );
    assert_eq!(last_pong, Some(9u32.to_be_bytes().to_vec()));
}

#[test]
fn our_own_large_output_never_stops_reading() {
    // Two peers sending large messages at once must keep reading each other.
    let mut server = session(Role::Server);
    server.send_binary(&vec![0u8; 1 << 20]).unwrap();
    assert!(server.is_output_over_limit());
    server.receive(t0(), &flood(Role::Server, 100));
    events(&mut server);
    assert!(
        server.wants_read(),
        "the queue is ours, not the peer's doing"
    );
    assert!(server.pending_output().len() <= (1 << 20) + 10 + MAX_CONTROL_FRAME);
}

#[test]
fn reading_resumes_once_the_answers_drain() {
    let mut server = session(Role::Server);
    server.receive(t0(), &flood(Role::Server, 5_000));
    events(&mut server);
    assert!(!server.wants_read());
    let half = server.pending_output().len() / 2 + 1;
    server.consume_output(half);
    assert!(server.wants_read());
}

#[test]
fn a_flood_of_close_frames_is_answered_once() {
    let mut server = session(Role::Server);
    let close = raw_frame(Role::Server, true, Rsv::NONE, OpCode::Close, &[0x03, 0xe8]);
    let many = close.repeat(10_000);
    server.receive(t0(), &many);
    events(&mut server);
    let frames = sent_frames(&mut server);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].0, OpCode::Close);
    server.receive(t0(), &many);
    assert_eq!(
        server.buffered_input(),
        0,
        "input after the close is dropped"
    );
}

#[test]
fn a_pong_flood_queues_nothing() {
    let mut client = session(Role::Client);
    let pong = raw_frame(Role::Client, true, Rsv::NONE, OpCode::Pong, &[b'x'; 125]);
    let many = pong.repeat(10_000);
    client.receive(t0(), &many);
    events(&mut client);
    assert!(!client.has_pending_output());
}

/// Deterministic splits: chunk sizes from a small xorshift, so failures replay.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Feeds `session` `count` pings in pieces of 1..=700 bytes, asserting the bound after
/// each; every `drain_every`-th piece or so (0: never), the peer reads part of the output.
fn flood_in_pieces(mut session: Session, count: u32, seed: u64, drain_every: u64) -> Session {
    let bytes = flood(session.role(), count);
    let mut rest = &bytes[..];
    let mut rng = seed.max(1);
    while !rest.is_empty() {
        let n = (xorshift(&mut rng) % 700 + 1) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        session.receive(t0(), piece);
        rest = tail;
        while session.poll_event().is_some() {
            assert!(session.pending_output().len() <= bound(&session));
        }
        if drain_every != 0 && xorshift(&mut rng) % drain_every == 0 {
            // The peer reads a little: part of the output leaves.
            let k = (xorshift(&mut rng) as usize) % (session.pending_output().len() + 1);
            session.consume_output(k);
        }
    }
    session
}

#[test]
fn ping_flood_split_anywhere_and_never_read_stays_bounded() {
    for seed in [1, 2, 3, 0xdead_beef] {
        let session = flood_in_pieces(session(Role::Server), 20_000, seed, 0);
        assert!(session.pending_output().len() <= bound(&session));
    }
}

#[test]
fn ping_flood_split_anywhere_and_read_slowly_stays_bounded_and_ends_answered() {
    for (seed, role) in [(5, Role::Server), (6, Role::Client), (7, Role::Server)] {
        let mut session = flood_in_pieces(session(role), 20_000, seed, 50);
        let mut out = session.take_output().to_vec();
        out.extend_from_slice(&session.take_output());
        // The output may start mid-frame after partial consumption; the last whole pong is
        // the answer to the last ping.
        let tail = Bytes::from(out);
        let last_frame = ping(
            match role {
                Role::Server => Role::Client,
                Role::Client => Role::Server,
            },
            19_999,
        );
        let answer_len = last_frame.len();
        assert!(tail.len() >= answer_len);
        let mut last = BytesMut::from(&tail[tail.len() - answer_len..]);
        let frame = FrameDecoder::new(usize::MAX)
            .decode(&mut last)
            .unwrap()
            .expect("a whole pong at the end");
        assert_eq!(frame.header.opcode, OpCode::Pong);
        assert_eq!(&frame.payload[..4], &19_999u32.to_be_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn any_split_of_a_ping_flood_keeps_output_bounded(
        seed in any::<u64>(),
        server in any::<bool>(),
        limit in 0usize..4096,
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let mut config = Config::default();
        config.max_pending_output = limit;
        let session = flood_in_pieces(Session::new(role, config), 2_000, seed, 0);
        prop_assert!(session.pending_output().len() <= limit + MAX_CONTROL_FRAME);
    }
}

#[test]
fn encode_helper_matches_the_issue_bytes() {
    // `89 FD` + mask + 125 bytes: the exact frame of the reproduction.
    let frame = ping(Role::Server, 0);
    assert_eq!(&frame[..2], &[0x89, 0xFD]);
    assert_eq!(frame.len(), 2 + 4 + 125);
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, Rsv::NONE, OpCode::Pong, None, &[0; 125]);
    assert_eq!(out.len(), 127);
}
