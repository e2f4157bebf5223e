//! A message may end its DEFLATE data with a block whose BFINAL bit is set (RFC 7692
//! §7.2.3.4); with context takeover the receiver keeps its LZ77 window for the next message
//! all the same (§7.2.2), since the sender's next message may refer back into it.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::{client_frame, default_server, server_frame, session_with, texts};
use wintergreen_codec::{Extension, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams};

/// "Hello" as one fixed block with BFINAL set (RFC 7692 §7.2.3.4 without its trailing `00`).
const HELLO_FINAL: [u8; 7] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// "Hello" as one back-reference (length 5, distance 5) in a fixed block with BFINAL set.
const HELLO_AGAIN_FINAL: [u8; 4] = [0xf3, 0x00, 0x11, 0x00];

#[test]
fn a_message_ending_with_a_final_block_keeps_the_window_for_the_next_in_a_server_session() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &HELLO_FINAL));
    server.receive(
        common::now(),
        &client_frame(true, 0x40, 0x1, &HELLO_AGAIN_FINAL),
    );
    assert_eq!(texts(&mut server), ["Hello", "Hello"]);
}

#[test]
fn a_message_ending_with_a_final_block_keeps_the_window_for_the_next_in_a_client_session() {
    let mut client = session_with(Role::Client, DeflateParams::default());
    client.receive(common::now(), &server_frame(true, 0x40, 0x1, &HELLO_FINAL));
    client.receive(
        common::now(),
        &server_frame(true, 0x40, 0x1, &HELLO_AGAIN_FINAL),
    );
    assert_eq!(texts(&mut client), ["Hello", "Hello"]);
}

#[test]
fn a_message_ending_with_a_final_block_keeps_the_window_at_the_extension() {
    for role in [Role::Client, Role::Server] {
        let mut receiver = Deflate::new(role, DeflateParams::default(), &DeflateConfig::default());
        for payload in [&HELLO_FINAL[..], &HELLO_AGAIN_FINAL, &HELLO_AGAIN_FINAL] {
            assert!(receiver.decode_start(Rsv::RSV1));
            let mut out = BytesMut::new();
            receiver
                .decode(payload, true, &mut out, usize::MAX)
                .unwrap();
            assert_eq!(&out[..], b"Hello", "{role:?}");
        }
    }
}

/// §7.2.3.4's own layout (the BFINAL block, then `00`: an empty stored block's header) and
/// a back-reference in the next message, split over frames.
#[test]
fn the_rfc_final_block_layout_keeps_the_window_across_fragments() {
    let mut server = default_server();
    let mut first = HELLO_FINAL.to_vec();
    first.push(0x00);
    server.receive(common::now(), &client_frame(false, 0x40, 0x1, &first[..3]));
    server.receive(common::now(), &client_frame(true, 0x00, 0x0, &first[3..]));
    // RFC 7692 §7.2.3.2's second message: a back-reference in a non-final block.
    server.receive(
        common::now(),
        &client_frame(false, 0x40, 0x1, &[0xf2, 0x00]),
    );
    server.receive(
        common::now(),
        &client_frame(true, 0x00, 0x0, &[0x11, 0x00, 0x00]),
    );
    server.receive(
        common::now(),
        &client_frame(true, 0x40, 0x1, &HELLO_AGAIN_FINAL),
    );
    assert_eq!(texts(&mut server), ["Hello", "Hello", "Hello"]);
}

/// A reference to the window's far end (32 KiB back) right after a final block: the
/// receiver's history covers the whole window, not only the last message.
#[test]
fn a_final_block_keeps_the_whole_window_not_only_the_last_message() {
    use common::shapes::{Sender, Shape};
    let mut sender = Sender::new(15, true);
    let mut receiver = Deflate::new(
        Role::Client,
        DeflateParams::default(),
        &DeflateConfig::default(),
    );
    let sent = [
        sender.send(Shape::Sync, &common::noise(1, 30_000)),
        sender.send(Shape::Final, b"a short last message"),
        sender.send(Shape::FixedFarMatch, b"far"),
    ];
    for message in &sent {
        assert!(receiver.decode_start(Rsv::RSV1));
        let mut out = BytesMut::new();
        receiver
            .decode(&message.wire, true, &mut out, usize::MAX)
            .unwrap();
        assert!(out == message.data.as_slice());
    }
}
