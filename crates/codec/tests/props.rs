#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Property tests: how bytes are split never changes what the session sees, and what one
//! side sends the other receives unchanged.

mod common;

use common::*;
use proptest::prelude::*;
use wintergreen_codec::{
    Config, ConnectionError, DataKind, Event, FrameDecoder, Message, Role, Session,
};

/// A message as the sender side produces it: data of a kind, sent whole or in pieces.
#[derive(Debug, Clone)]
enum Send {
    Whole(Message),
    Pieces(DataKind, Vec<Vec<u8>>),
}

fn data_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        ".{0,200}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Message::ping),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Message::pong),
    ]
}

fn send_op() -> impl Strategy<Value = Send> {
    prop_oneof![
        data_message().prop_map(Send::Whole),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..5)
            .prop_map(|pieces| Send::Pieces(DataKind::Binary, pieces)),
        proptest::collection::vec(".{0,20}", 1..5).prop_map(|pieces| {
            Send::Pieces(
                DataKind::Text,
                pieces.into_iter().map(String::into_bytes).collect(),
            )
        }),
    ]
}

fn expected(op: &Send) -> Message {
    match op {
        Send::Whole(message) => message.clone(),
        Send::Pieces(DataKind::Binary, pieces) => Message::binary(pieces.concat()),
        Send::Pieces(DataKind::Text, pieces) => {
            Message::text(String::from_utf8(pieces.concat()).unwrap())
        }
    }
}

fn sender(role: Role, frame_size: usize, ops: &[Send]) -> Session {
    let mut config = Config::default();
    config.max_send_frame_size = frame_size;
    let mut session = Session::new(role, config);
    for op in ops {
        match op {
            Send::Whole(message) => session.send(t0(), message.clone()).unwrap(),
            Send::Pieces(kind, pieces) => {
                for (i, piece) in pieces.iter().enumerate() {
                    session
                        .send_fragment(*kind, piece, i + 1 == pieces.len())
                        .unwrap();
                }
            }
        }
    }
    session
}

fn peer(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// Feeds `bytes` to a fresh session in chunks of the given sizes (cycled), polling events
/// after each chunk as a driver would.
fn receive_in_chunks(
    role: Role,
    bytes: &[u8],
    chunks: &[usize],
) -> Vec<Result<Event, ConnectionError>> {
    let mut session = Session::new(role, Config::default());
    let mut events = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        session.receive(t0(), &rest[..n]);
        rest = &rest[n..];
        events.extend(std::iter::from_fn(|| session.poll_event()));
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_in_both_directions(
        ops in proptest::collection::vec(send_op(), 0..8),
        frame_size in 1usize..400,
        client_sends in any::<bool>(),
    ) {
        let role = if client_sends { Role::Client } else { Role::Server };
        let mut from = sender(role, frame_size, &ops);
        let mut to = Session::new(peer(role), Config::default());
        pump(&mut from, &mut to);
        let got = messages(&mut to);
        let want: Vec<Message> = ops.iter().map(expected).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_split_gives_the_same_events(
        ops in proptest::collection::vec(send_op(), 1..6),
        frame_size in 1usize..100,
        chunks in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let mut from = sender(Role::Server, frame_size, &ops);
        let bytes = from.take_output();
        let whole = receive_in_chunks(Role::Client, &bytes, &[bytes.len()]);
        let one_by_one = receive_in_chunks(Role::Client, &bytes, &[1]);
        let split = receive_in_chunks(Role::Client, &bytes, &chunks);
        prop_assert_eq!(&whole, &one_by_one);
        prop_assert_eq!(&whole, &split);
    }

    #[test]
    fn arbitrary_input_never_panics_and_ends_consistently(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        chunks in proptest::collection::vec(1usize..64, 1..6),
        server in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let whole = receive_in_chunks(role, &bytes, &[bytes.len().max(1)]);
        let split = receive_in_chunks(role, &bytes, &chunks);
        prop_assert_eq!(&whole, &split);
        // At most one error, and it is the last event.
        let errors = whole.iter().filter(|e| e.is_err()).count();
        prop_assert!(errors <= 1);
        if errors == 1 {
            prop_assert!(whole.last().unwrap().is_err());
        }
    }

    #[test]
    fn frame_decoder_round_trips_headers(
        fin in any::<bool>(),
        opcode in prop_oneof![Just(wintergreen_codec::OpCode::Text), Just(wintergreen_codec::OpCode::Binary), Just(wintergreen_codec::OpCode::Continuation)],
        mask in proptest::option::of(any::<[u8; 4]>()),
        payload in proptest::collection::vec(any::<u8>(), 0..70_000),
    ) {
        let mut buf = bytes::BytesMut::new();
        wintergreen_codec::encode_frame(&mut buf, fin, wintergreen_codec::Rsv::NONE, opcode, mask, &payload);
        let mut decoder = FrameDecoder::new(usize::MAX);
        let frame = decoder.decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(frame.header.fin, fin);
        prop_assert_eq!(frame.header.opcode, opcode);
        prop_assert_eq!(frame.header.mask, mask);
        prop_assert_eq!(&frame.payload[..], &payload[..]);
        prop_assert!(buf.is_empty());
    }
}
