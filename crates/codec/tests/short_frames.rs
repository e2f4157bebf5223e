#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The receive path's fast path for whole unfragmented data frames, short or with a 16- or
//! 64-bit length (taken when a frame's header and payload are buffered at once) and the general path (taken when the frame arrives in
//! pieces) give the same events, counters and output for the same bytes, valid or not.

mod common;

use bytes::BytesMut;
use common::*;
use proptest::prelude::*;
use wintergreen_codec::{
    Config, ConnectionError, Event, FrameHeader, OpCode, ProtocolError, Role, Rsv, Session, Stats,
    encode_frame,
};

/// One raw frame: a first byte near the fast path's (`0x81`/`0x82`) and around it (no FIN,
/// reserved bits, control and reserved opcodes), any mask bit, any length up to 300 bytes in
/// any of the three length encodings (the shortest, or a 16- or 64-bit one, whatever the
/// length; a 64-bit one sometimes with its top bit set), text payloads valid or not.
fn raw_frame() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        4 => Just(0x82u8),
        4 => Just(0x81u8),
        1 => Just(0x02u8),
        1 => Just(0x01u8),
        1 => Just(0x80u8),
        1 => Just(0xC2u8),
        1 => Just(0x92u8),
        1 => Just(0x89u8),
        1 => Just(0x8Au8),
        1 => Just(0x83u8),
        1 => any::<u8>(),
    ];
    let payload = prop_oneof![
        ".{0,40}".prop_map(String::into_bytes),
        ".{0,100}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..=300),
    ];
    let encoding = prop_oneof![4 => Just(0u8), 2 => Just(16), 1 => Just(64), 1 => Just(65)];
    let parts = (first, any::<bool>(), payload, any::<[u8; 4]>(), encoding);
    parts.prop_map(|(first, masked, payload, key, encoding)| {
        let mut frame = vec![first];
        let len = payload.len();
        let mask_bit = if masked { 0x80 } else { 0 };
        match encoding {
            0 if len <= 125 => frame.push(mask_bit | len as u8),
            0 | 16 => {
                frame.push(mask_bit | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            64 => {
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
            _ => {
                // The top bit set: an invalid length (§5.2).
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(len as u64 | 1 << 63).to_be_bytes());
            }
        }
        if masked {
            frame.extend_from_slice(&key);
        }
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| if masked { b ^ key[i % 4] } else { *b }),
        );
        frame
    })
}

type Seen = (Vec<Result<Event, ConnectionError>>, Stats, Vec<u8>);

/// Feeds `bytes` in chunks of `chunk` bytes, polling after each, as a driver would.
fn receive(role: Role, config: &Config, bytes: &[u8], chunk: usize) -> Seen {
    let mut session = Session::new(role, config.clone());
    let mut events = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        session.receive(t0(), piece);
        events.extend(std::iter::from_fn(|| session.poll_event()));
    }
    let output = session.take_output().to_vec();
    (events, session.stats(), output)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn whole_data_frames_give_what_the_general_path_gives(
        frames in proptest::collection::vec(raw_frame(), 1..6),
        server in any::<bool>(),
        max_frame_size in prop_oneof![Just(usize::MAX), 0usize..320],
        max_message_size in prop_oneof![Just(usize::MAX), 0usize..320],
        max_fragments in prop_oneof![Just(usize::MAX), 0usize..3],
        streaming in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let mut config = Config::default();
        config.max_frame_size = max_frame_size;
        config.max_message_size = max_message_size;
        config.max_fragments = max_fragments;
        config.streaming = streaming;
        // The same mask keys on both sides, so that their close frames compare equal.
        config.mask_seed = Some(1);
        let bytes = frames.concat();
        // All at once: each whole data frame goes the fast path.
        let whole = receive(role, &config, &bytes, bytes.len());
        // One byte at a time: a frame's header is parsed before its payload arrives, so
        // every frame with a payload goes the general path.
        let one_by_one = receive(role, &config, &bytes, 1);
        prop_assert_eq!(&whole.0, &one_by_one.0);
        prop_assert_eq!(&whole.2, &one_by_one.2);
        // Invalid UTF-8 fails fast, before its frame is whole and counted, when the frame
        // arrives in pieces: how many frames and bytes were counted then depends on the
        // split (as it always did), and only then.
        let fast_failed = whole.0.iter().any(|event| {
            matches!(event, Err(ConnectionError::Protocol(ProtocolError::InvalidUtf8)))
        });
        if !fast_failed {
            prop_assert_eq!(&whole.1, &one_by_one.1);
        }
    }
}

#[test]
fn a_whole_short_frame_is_handed_out_without_a_copy() {
    // Just past the 2-byte header.
    assert_handed_out_in_place(Role::Client, b"hello", 2);
}

#[test]
fn a_whole_frame_with_a_16_bit_length_is_handed_out_without_a_copy() {
    let payload: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    // Unmasked in place, just past the 8-byte header (2, a 16-bit length, a mask key).
    assert_handed_out_in_place(Role::Server, &payload, 8);
}

/// Receives one binary frame with `payload` at once and checks that its message is the
/// receive buffer's own bytes, `header_len` bytes past where the frame started.
fn assert_handed_out_in_place(receiver: Role, payload: &[u8], header_len: usize) {
    let frame = raw_frame_for(receiver, payload);
    let mut session = session(receiver);
    session.receive(t0(), &frame);
    let start = session.receive_buffer().as_ptr();
    let messages = messages(&mut session);
    let [wintergreen_codec::Message::Binary(data)] = &messages[..] else {
        panic!("expected one binary message, got {messages:?}");
    };
    assert_eq!(&data[..], payload);
    assert_eq!(data.as_ptr(), start.wrapping_add(header_len));
}

fn raw_frame_for(receiver: Role, payload: &[u8]) -> Vec<u8> {
    common::raw_frame(receiver, true, Rsv::NONE, OpCode::Binary, payload)
}

proptest! {
    /// `encode_frame` builds the header of a short frame and of one with a 16-bit length
    /// itself: it writes what `FrameHeader::encode` and masking write, for every length
    /// around the short limit and around the 16-bit one (where the general encoding
    /// takes over).
    #[test]
    fn encode_frame_writes_the_header_encode_writes(
        fin in any::<bool>(),
        rsv in 0u8..8,
        opcode in prop_oneof![
            Just(OpCode::Continuation), Just(OpCode::Text), Just(OpCode::Binary),
            Just(OpCode::Close), Just(OpCode::Ping), Just(OpCode::Pong),
        ],
        mask in proptest::option::of(any::<[u8; 4]>()),
        len in prop_oneof![0usize..300, 65_530usize..65_542],
        seed in any::<u8>(),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let rsv = Rsv::from_bits(rsv << 4);
        let mut got = BytesMut::new();
        encode_frame(&mut got, fin, rsv, opcode, mask, &payload);
        let header = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
        let mut want = BytesMut::new();
        header.encode(&mut want);
        want.extend(payload.iter().enumerate().map(|(i, b)| match mask {
            Some(key) => b ^ key[i % 4],
            None => *b,
        }));
        prop_assert_eq!(got, want);
    }
}
