#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests
//! Output queued by reference (a server's large unmasked payloads, `ZERO_COPY_MIN`): the
//! bytes written are those of the copying path whatever the write sizes, every length
//! accounting counts the shared chunks, and a client still copies (and masks) its payloads.

mod common;

use std::io::IoSlice;

use bytes::Bytes;
use common::{raw_frame, t0};
use proptest::prelude::*;
use wintergreen_codec::{Config, OpCode, Role, Rsv, Session, ZERO_COPY_MIN};

/// What a test sends: a binary or text message of some size, or a ping.
#[derive(Debug, Clone)]
enum Op {
    Binary(usize),
    Text(usize),
    Ping(usize),
}

fn payload(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((i + seed) % 26) as u8).collect()
}

/// Sends `ops` twice, from shared buffers (`send_*_bytes`) and from slices (the copying
/// path), on sessions of `role` with `config`.
fn send_both(role: Role, config: &Config, ops: &[Op]) -> (Session, Session) {
    let mut shared = Session::new(role, config.clone()).with_rng_seed(7);
    let mut copied = Session::new(role, config.clone()).with_rng_seed(7);
    for (seed, op) in ops.iter().enumerate() {
        match *op {
            Op::Binary(len) => {
                let data = payload(len, seed);
                shared.send_binary_bytes(Bytes::from(data.clone())).unwrap();
                copied.send_binary(&data).unwrap();
            }
            Op::Text(len) => {
                let text = String::from_utf8(payload(len, seed)).unwrap();
                shared.send_text_bytes(text.clone().into()).unwrap();
                copied.send_text(&text).unwrap();
            }
            Op::Ping(len) => {
                let data = payload(len.min(125), seed);
                shared.send_ping(&data).unwrap();
                copied.send_ping(&data).unwrap();
            }
        }
    }
    (shared, copied)
}

/// Writes all of `session`'s output in writes of at most the sizes in `pattern` (cycled),
/// each of one chunk (`pending_output`) or vectored.
fn drain(session: &mut Session, pattern: &[usize], vectored: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    for round in 0..1_000_000 {
        if !session.has_pending_output() {
            break;
        }
        let limit = pattern[round % pattern.len()].max(1);
        let before = session.pending_output_len();
        let n = if vectored {
            let mut slots = [IoSlice::new(&[]); 4];
            let filled = session.pending_output_vectored(&mut slots);
            assert!(filled > 0);
            let mut n = 0;
            for slot in &slots[..filled] {
                let take = slot.len().min(limit - n);
                wire.extend_from_slice(&slot[..take]);
                n += take;
                if n == limit {
                    break;
                }
            }
            n
        } else {
            let chunk = session.pending_output();
            assert!(!chunk.is_empty(), "pending output has a first chunk");
            let n = chunk.len().min(limit);
            wire.extend_from_slice(&chunk[..n]);
            n
        };
        session.consume_output(n);
        assert_eq!(session.pending_output_len(), before - n);
    }
    assert_eq!(session.pending_output_len(), 0);
    wire
}

fn mixed() -> Vec<Op> {
    vec![
        Op::Binary(20),
        Op::Binary(ZERO_COPY_MIN),
        Op::Ping(5),
        Op::Binary(ZERO_COPY_MIN - 1),
        Op::Text(16 << 10),
        Op::Binary(70_000),
        Op::Binary(0),
        Op::Text(3),
        Op::Binary(4096),
    ]
}

#[test]
fn a_server_queues_large_payloads_by_reference_and_writes_the_same_bytes() {
    let (mut shared, mut copied) = send_both(Role::Server, &Config::default(), &mixed());
    assert_eq!(shared.pending_output_len(), copied.pending_output_len());
    // The first chunk ends before the output does: payloads were not copied.
    assert!(shared.pending_output().len() < shared.pending_output_len());
    let expected = copied.take_output().to_vec();
    // Each write size, one chunk per write and vectored (4 slots a call).
    for step in [1, 2, 3, 7, 1000, 1024, 1025, 4096, 100_000] {
        for vectored in [false, true] {
            let (mut shared, _) = send_both(Role::Server, &Config::default(), &mixed());
            assert_eq!(drain(&mut shared, &[step], vectored), expected, "{step}");
        }
    }
    assert_eq!(shared.take_output().to_vec(), expected);
}

#[test]
fn consume_output_stops_at_every_chunk_boundary() {
    let ops = [
        Op::Binary(20),
        Op::Binary(2000),
        Op::Binary(20),
        Op::Binary(3000),
    ];
    let (_, mut copied) = send_both(Role::Server, &Config::default(), &ops);
    let expected = copied.take_output().to_vec();
    // Boundaries: header 2 + 20, header 4, 2000, header 2 + 20 and 4, then 3000.
    for cut in [
        21,
        22,
        23,
        25,
        26,
        2025,
        2026,
        2027,
        2050,
        2051,
        expected.len(),
    ] {
        let (mut shared, _) = send_both(Role::Server, &Config::default(), &ops);
        let mut wire = Vec::new();
        while shared.pending_output_len() > expected.len() - cut {
            let chunk = shared.pending_output();
            let n = chunk
                .len()
                .min(shared.pending_output_len() - (expected.len() - cut));
            wire.extend_from_slice(&chunk[..n]);
            shared.consume_output(n);
        }
        assert_eq!(shared.pending_output_len(), expected.len() - cut);
        wire.extend_from_slice(&shared.take_output());
        assert_eq!(wire, expected, "cut at {cut}");
    }
}

#[test]
fn fragments_of_a_large_message_are_shared_too() {
    let mut config = Config::default();
    // Fragments of at least `ZERO_COPY_MIN` (2 KiB) bytes each, the last one included.
    config.max_send_frame_size = 2500;
    let ops = [Op::Binary(10_000), Op::Text(7500)];
    let (mut shared, mut copied) = send_both(Role::Server, &config, &ops);
    assert!(
        shared.pending_output().len() < 20,
        "a header, then a shared piece"
    );
    assert_eq!(
        drain(&mut shared, &[1499, 1, 4], true),
        copied.take_output().to_vec()
    );
    assert_eq!(shared.stats().frames_out, copied.stats().frames_out);
}

#[test]
fn a_client_masks_a_copy_in_one_chunk() {
    let (mut shared, mut copied) = send_both(Role::Client, &Config::default(), &mixed());
    assert_eq!(shared.pending_output().len(), shared.pending_output_len());
    assert_eq!(shared.take_output(), copied.take_output());
}

#[test]
fn limits_and_counters_count_the_shared_payloads() {
    let mut config = Config::default();
    config.max_pending_output = 8 << 10;
    let mut server = Session::new(Role::Server, config);
    let data = Bytes::from(payload(16 << 10, 0));
    server.send_binary_bytes(data.clone()).unwrap();
    let queued = server.pending_output_len();
    assert_eq!(queued, 4 + data.len());
    assert_eq!(
        server.pending_output().len(),
        4,
        "only the header was copied"
    );
    assert!(server.has_pending_output());
    assert!(server.is_output_over_limit());

    // Over the limit, the answer to a ping waits for room.
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Ping, b"hi"),
    );
    while server.poll_event().is_some() {}
    assert_eq!(
        server.pending_output_len(),
        queued,
        "the pong was kept aside"
    );

    // Writing most of the shared payload makes room: the pong follows it.
    server.consume_output(queued - 100);
    assert!(!server.is_output_over_limit());
    assert_eq!(server.pending_output_len(), 100 + 4);
    assert_eq!(server.stats().wire_bytes_out, (queued - 100) as u64);
    let rest = server.take_output();
    assert_eq!(&rest[..100], &data[data.len() - 100..]);
    assert_eq!(&rest[100..], &[0x8A, 2, b'h', b'i']);
    assert_eq!(server.stats().wire_bytes_out, (queued + 4) as u64);

    // Drained, the session keeps no reference to the payload.
    assert!(data.is_unique());
    server.release_idle_buffers();
    assert!(server.buffer_capacity() <= 1024);
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3000usize).prop_map(Op::Binary),
        (0..3000usize).prop_map(Op::Text),
        (0..=125usize).prop_map(Op::Ping),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sends, any frame size limit, any pattern of partial writes: the same bytes as
    /// the contiguous (copying) encoder.
    #[test]
    fn any_sends_and_writes_give_the_copying_paths_bytes(
        ops in proptest::collection::vec(op(), 0..12),
        frame in 1usize..5000,
        pattern in proptest::collection::vec(1usize..5000, 1..6),
        vectored in any::<bool>(),
    ) {
        let mut config = Config::default();
        config.max_send_frame_size = frame;
        let (mut shared, mut copied) = send_both(Role::Server, &config, &ops);
        let expected = copied.take_output().to_vec();
        prop_assert_eq!(shared.pending_output_len(), expected.len());
        prop_assert_eq!(drain(&mut shared, &pattern, vectored), expected);
        prop_assert_eq!(shared.stats().wire_bytes_out, copied.stats().wire_bytes_out);
    }
}
