//! An 8-bit window (256 bytes): zlib cannot compress with one, so we compress with zlib's
//! 9-bit window, whose matches never reach back more than 250 bytes (512 minus zlib's
//! 262-byte lookahead). These tests hold zlib-rs to that, at every level, on data built to
//! tempt longer distances, with a decoder of our own that measures every distance.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::{json_like, noise};
use wintergreen_codec::{Extension, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut inputs = vec![
        ("zeros".to_owned(), vec![0u8; 20_000]),
        ("noise".to_owned(), noise(1, 5_000)),
        ("json".to_owned(), json_like(2, 20_000).into_bytes()),
        (
            "text".to_owned(),
            "the quick brown fox jumps over the lazy dog. "
                .repeat(300)
                .into_bytes(),
        ),
    ];
    // A random pattern repeated with periods just past 256 bytes and near 512: the best
    // match is exactly one period back.
    for period in [
        251, 255, 256, 257, 258, 260, 270, 300, 400, 500, 510, 511, 512, 513,
    ] {
        let pattern = noise(u64::from(period as u32), period);
        inputs.push((
            format!("period {period}"),
            pattern.iter().copied().cycle().take(12_000).collect(),
        ));
    }
    inputs
}

/// Compresses `messages` as one sender with an 8-bit window, each in three fragments (to
/// cover flushes mid-message too); returns each message's payload.
fn compress_each(level: u32, no_context_takeover: bool, messages: &[&[u8]]) -> Vec<Vec<u8>> {
    common::compress_each(WindowBits::MIN, level, no_context_takeover, messages, true)
}

/// The stream a receiver inflates: the payloads with their tails put back.
fn compress_messages(level: u32, no_context_takeover: bool, messages: &[&[u8]]) -> Vec<u8> {
    let mut stream = Vec::new();
    for payload in compress_each(level, no_context_takeover, messages) {
        stream.extend_from_slice(&payload);
        stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    }
    stream
}

#[test]
fn an_8_bit_window_stream_never_reaches_back_more_than_256_bytes() {
    let inputs = inputs();
    let all: Vec<&[u8]> = inputs.iter().map(|(_, data)| data.as_slice()).collect();
    let expected: Vec<u8> = all.concat();
    for level in 0..=9 {
        for no_context_takeover in [false, true] {
            let stream = compress_messages(level, no_context_takeover, &all);
            let decoded =
                common::puff::inflate(&stream).unwrap_or_else(|err| panic!("level {level}: {err}"));
            assert!(decoded.output == expected, "level {level}: wrong output");
            assert!(
                decoded.max_distance <= 256,
                "level {level}: a distance of {} in an 8-bit window",
                decoded.max_distance
            );
            if level > 0 {
                assert!(
                    decoded.max_distance > 200,
                    "level {level}: the test data did not tempt long matches"
                );
            }
        }
    }
}

#[test]
fn an_8_bit_window_stream_still_compresses() {
    let json = json_like(3, 20_000);
    let stream = compress_messages(DeflateConfig::DEFAULT_LEVEL, false, &[json.as_bytes()]);
    assert!(
        stream.len() * 3 < json.len(),
        "{} of {}",
        stream.len(),
        json.len()
    );
}

#[test]
fn a_receiver_of_an_8_bit_window_inflates_with_9_bits() {
    let inputs = inputs();
    let params = DeflateParams::new(false, false, WindowBits::MIN, WindowBits::MIN);
    let config = DeflateConfig::default();
    let mut receiver = Deflate::new(Role::Client, params, &config);
    let all: Vec<&[u8]> = inputs.iter().map(|(_, data)| data.as_slice()).collect();
    let payloads = compress_each(DeflateConfig::DEFAULT_LEVEL, false, &all);
    for ((name, data), payload) in inputs.iter().zip(&payloads) {
        assert!(receiver.decode_start(Rsv::RSV1));
        let mut out = BytesMut::new();
        receiver
            .decode(payload, true, &mut out, usize::MAX)
            .unwrap();
        assert!(out == data.as_slice(), "{name}");
    }
}
