//! `Session::stats` with permessage-deflate on: the compression counters of both ends match
//! what crossed the wire (RFC 7692 §6: the compressed payloads of RSV1 messages).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use common::{json_like, noise, pair_with, send_and_check};
use wintergreen_codec::{Config, Message};
use wintergreen_deflate::{DeflateConfig, DeflateParams};

#[test]
fn compression_counters_match_the_compressed_frames_on_the_wire() {
    let mut config = DeflateConfig::default();
    // Messages under the threshold go out uncompressed: they must not be counted.
    config.threshold = 64;
    let (mut client, mut server) = pair_with(DeflateParams::default(), &config, Config::default());
    let sent = vec![
        Message::text(json_like(1, 4096)),
        Message::text("tiny"),
        Message::binary(noise(2, 1000)),
        Message::text(json_like(3, 20_000)),
    ];
    let frames = send_and_check(&mut client, &mut server, &sent);
    let compressed: Vec<_> = frames.iter().filter(|f| f.rsv & 0x40 != 0).collect();
    assert_eq!(compressed.len(), 3, "the tiny message went out as is");

    let on_wire: u64 = compressed.iter().map(|f| f.payload.len() as u64).sum();
    let len = |m: &Message| m.clone().into_data().len() as u64;
    let original = len(&sent[0]) + len(&sent[2]) + len(&sent[3]);
    let all: u64 = sent.iter().map(len).sum();
    let (ours, theirs) = (client.stats(), server.stats());
    assert_eq!(ours.compression_out.compressed, on_wire);
    assert_eq!(ours.compression_out.uncompressed, original);
    assert_eq!(ours.compression_out, theirs.compression_in);
    assert_eq!(ours.compression_in.ratio(), None, "nothing came back");
    // Payload counts are the messages as the application sees them, before compression
    // and after decompression.
    assert_eq!(
        (ours.payload_bytes_out, theirs.payload_bytes_in),
        (all, all)
    );
    assert_eq!((ours.messages_out, theirs.messages_in), (4, 4));
    let ratio = ours.compression_out.ratio().unwrap();
    assert!(
        ratio > 0.0 && ratio < 1.0,
        "JSON-like text compresses: {ratio}"
    );
    // The server's reply is counted the other way.
    let back = vec![Message::text(json_like(4, 2048))];
    let frames = send_and_check(&mut server, &mut client, &back);
    let back_on_wire = frames[0].payload.len() as u64;
    assert_eq!(client.stats().compression_in.compressed, back_on_wire);
    assert_eq!(client.stats().compression_in.uncompressed, len(&back[0]));
    assert_eq!(client.stats().wire_bytes_in, server.stats().wire_bytes_out);
}
