//! Decompression bombs: a small compressed message that inflates past the limit fails the
//! connection with 1009 without ever holding more than the limit (RFC 7692 §8.1 warns).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use flate2::{Compress, Compression, FlushCompress};
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, Extension, ExtensionError, OpCode, ProtocolError, Role,
    Rsv, Session,
};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams};

const GIB: usize = 1 << 30;
const CHUNK: usize = 1 << 20;

/// At least 1 GiB of zeros, raw-deflated with a 32 KiB window, without the sync-flush tail:
/// one message's payload. About 1 MiB.
///
/// Zeros are streamed through a `Compress` 1 MiB at a time, each chunk ending with a sync
/// flush. Once the window is all zeros, every chunk compresses to the same bytes (checked
/// below), so the remaining chunks repeat those bytes instead of running the compressor
/// over the rest of the gibibyte, which takes over a minute in a debug build.
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let zeros = vec![0u8; CHUNK];
        let mut compressor = Compress::new_with_window_bits(Compression::best(), false, 15);
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for _ in 0..4 {
            let mut chunk = Vec::with_capacity(64 * 1024);
            let mut input: &[u8] = &zeros;
            loop {
                let before = compressor.total_in();
                compressor
                    .compress_vec(input, &mut chunk, FlushCompress::Sync)
                    .unwrap();
                input = &input[(compressor.total_in() - before) as usize..];
                if input.is_empty() && chunk.capacity() > chunk.len() {
                    break;
                }
                chunk.reserve(64 * 1024);
            }
            assert!(chunk.ends_with(&[0, 0, 0xff, 0xff]));
            chunks.push(chunk);
        }
        let steady = chunks[3].clone();
        assert_eq!(
            chunks[2], steady,
            "zeros did not reach a steady compressed form"
        );
        let mut bomb: Vec<u8> = chunks.concat();
        while bomb.len() < chunks.concat().len() + (GIB / CHUNK - 4) * steady.len() {
            bomb.extend_from_slice(&steady);
        }
        bomb.truncate(bomb.len() - 4); // the message's tail goes, as RFC 7692 §7.2.1 says
        bomb
    })
}

fn zeros_in_bomb() -> usize {
    GIB
}

/// The bomb's structure is sound: a shortened copy (4 steady chunks less) decodes, with an
/// independent decoder, to nothing but zeros.
#[test]
fn bomb_is_a_valid_stream_of_at_least_one_gib_of_zeros() {
    let bomb = bomb();
    assert!(bomb.len() < 2 * 1024 * 1024, "bomb is {} bytes", bomb.len());
    let steady_len = {
        // Every chunk after the first few is the same: find the period from the end.
        let tail_chunk = &bomb[bomb.len() - 1000..];
        let period = (1..bomb.len() / 2)
            .find(|&p| bomb[bomb.len() - 1000 - p..bomb.len() - p] == *tail_chunk);
        period.unwrap()
    };
    let chunks_total = (bomb.len() + 4) as f64 / steady_len as f64;
    assert!(
        chunks_total >= (GIB / CHUNK) as f64 - 4.0,
        "{chunks_total} chunks of {steady_len}"
    );
    // Decode the first 16 MiB worth with the reference decoder.
    let prefix_len = bomb.len() + 4 - (GIB / CHUNK - 16) * steady_len;
    let mut prefix = bomb[..prefix_len].to_vec();
    prefix.truncate(prefix.len() - 4);
    prefix.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let decoded = common::puff::inflate(&prefix).unwrap();
    assert_eq!(decoded.output.len(), 16 * CHUNK);
    assert!(decoded.output.iter().all(|&b| b == 0));
}

/// An extension for a test client that claims RSV1 and sends payloads as they are: the bomb
/// is already compressed.
#[derive(Debug)]
struct Precompressed;

impl Extension for Precompressed {
    fn name(&self) -> &str {
        "permessage-deflate"
    }
    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }
    fn encode_start(&mut self, _: OpCode, _: Option<usize>) -> Rsv {
        Rsv::RSV1
    }
    fn encode(
        &mut self,
        payload: &[u8],
        _: bool,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        out.extend_from_slice(payload);
        Ok(())
    }
    fn decode_start(&mut self, _: Rsv) -> bool {
        false
    }
    fn decode(
        &mut self,
        _: &[u8],
        _: bool,
        _: &mut BytesMut,
        _: usize,
    ) -> Result<(), ExtensionError> {
        Ok(())
    }
}

fn server(max_message_size: usize) -> Session {
    let mut config = Config::default();
    config.max_message_size = max_message_size;
    Session::new(Role::Server, config).with_extension(Box::new(Deflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    )))
}

/// Feeds `wire` to `server` in pieces, as a socket would, until it fails; returns the error.
fn feed_until_failure(server: &mut Session, wire: &[u8]) -> ConnectionError {
    for piece in wire.chunks(256 * 1024) {
        server.receive(common::now(), piece);
        if let Some(event) = server.poll_event() {
            return event.expect_err("the bomb was not refused");
        }
    }
    panic!("the server did not fail");
}

fn assert_too_big(err: &ConnectionError, server: &Session, started: Instant) {
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG, "{err}");
    // The session reports its own configured limit, not the extension's remaining budget.
    assert_eq!(
        err,
        &ConnectionError::Protocol(ProtocolError::MessageTooLarge {
            limit: server.config().max_message_size
        }),
    );
    // The close frame with 1009 is queued.
    let out = server.pending_output();
    assert_eq!(&out[..4], &[0x88, 0x02, 0x03, 0xf1], "{out:02x?}");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

#[test]
fn bomb_from_a_client_session_fails_the_server_with_1009_at_the_default_limit() {
    let bomb = bomb();
    let mut client =
        Session::new(Role::Client, Config::default()).with_extension(Box::new(Precompressed));
    client.send_binary(bomb).unwrap();
    let wire = client.take_output();
    // A frame with RSV1 whose payload is the ~1 MiB bomb.
    assert_eq!(wire[0], 0x80 | 0x40 | 0x02);

    let started = Instant::now();
    let mut server = server(Config::DEFAULT_MAX_MESSAGE_SIZE);
    let err = feed_until_failure(&mut server, &wire);
    assert_too_big(&err, &server, started);
    assert!(zeros_in_bomb() > Config::DEFAULT_MAX_MESSAGE_SIZE);
}

#[test]
fn fragmented_bomb_from_a_client_session_fails_the_server_with_1009() {
    let bomb = bomb();
    let mut config = Config::default();
    config.max_send_frame_size = 4096;
    let mut client = Session::new(Role::Client, config).with_extension(Box::new(Precompressed));
    client.send_binary(bomb).unwrap();
    let wire = client.take_output();
    // RSV1 on the first frame only.
    assert_eq!(wire[0], 0x40 | 0x02);
    assert_eq!(wire[4 + 4 + 4096], 0x00, "a continuation without RSV1");

    let started = Instant::now();
    let mut server = server(4 << 20);
    let err = feed_until_failure(&mut server, &wire);
    assert_too_big(&err, &server, started);
}

#[test]
fn streamed_zeros_from_a_deflate_client_fail_the_server_with_1009() {
    // A real deflate client streaming zeros 1 MiB per fragment: the server stops it at its
    // limit.
    let limit = 8 << 20;
    let deflate = |role| Deflate::new(role, DeflateParams::default(), &DeflateConfig::default());
    let mut client = Session::new(Role::Client, Config::default())
        .with_extension(Box::new(deflate(Role::Client)));
    let mut server = server(limit);
    let zeros = vec![0u8; CHUNK];
    let started = Instant::now();
    let mut sent = 0usize;
    let err = loop {
        assert!(sent <= GIB, "the server accepted a GiB");
        client
            .send_fragment(wintergreen_codec::DataKind::Binary, &zeros, false)
            .unwrap();
        sent += CHUNK;
        let wire = client.take_output();
        server.receive(common::now(), &wire);
        if let Some(event) = server.poll_event() {
            break event.unwrap_err();
        }
    };
    assert_too_big(&err, &server, started);
    assert!(sent > limit && sent <= limit + CHUNK, "sent {sent}");
}

#[test]
fn bomb_through_the_extension_stops_at_the_limit() {
    let bomb = bomb();
    for limit in [0, 1, 1000, 1 << 20, 64 << 20] {
        let mut ext = Deflate::new(
            Role::Server,
            DeflateParams::default(),
            &DeflateConfig::default(),
        );
        assert!(ext.decode_start(Rsv::RSV1));
        let mut out = BytesMut::new();
        let started = Instant::now();
        let err = ext.decode(bomb, true, &mut out, limit).unwrap_err();
        assert_eq!(err, ExtensionError::MessageTooLarge { limit });
        assert_eq!(out.len(), limit, "holds exactly the limit");
        assert!(
            out.capacity() <= limit.max(256) * 2 + 1024,
            "capacity {} for {limit}",
            out.capacity()
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

#[test]
fn bomb_fed_frame_by_frame_through_the_extension_stops_at_the_limit() {
    // The session passes what is left of the limit on each call.
    let bomb = bomb();
    let limit = 2 << 20;
    let mut ext = Deflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    );
    assert!(ext.decode_start(Rsv::RSV1));
    let mut out = BytesMut::new();
    let mut result = Ok(());
    for piece in bomb.chunks(1000) {
        let left = limit - out.len();
        result = ext.decode(piece, false, &mut out, left);
        if result.is_err() {
            break;
        }
    }
    // The error names the limit the call was given: what was left of the message's.
    assert!(
        matches!(result, Err(ExtensionError::MessageTooLarge { .. })),
        "{result:?}"
    );
    assert_eq!(out.len(), limit);
}
