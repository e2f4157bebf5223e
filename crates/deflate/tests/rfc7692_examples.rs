//! RFC 7692 §7.2.3's examples, byte for byte, received by a client session (server frames
//! are unmasked), and the sender's side of the same examples.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use common::{server_frame, texts};
use wintergreen_codec::{CloseCode, Config, Role, Session};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn client() -> Session {
    client_with(DeflateParams::default())
}

fn client_with(params: DeflateParams) -> Session {
    common::session_with(Role::Client, params)
}

/// §7.2.3.1: "Hello" in one compressed frame.
#[test]
fn a_message_compressed_in_one_frame() {
    let mut client = client();
    client.receive(common::now(), &server_frame(true, 0x40, 0x1, &HELLO));
    assert_eq!(texts(&mut client), ["Hello"]);
}

/// §7.2.3.1: the same compressed bytes split over two frames, RSV1 on the first only.
#[test]
fn a_message_compressed_in_two_fragments() {
    let mut client = client();
    client.receive(common::now(), &[0x41, 0x03, 0xf2, 0x48, 0xcd]);
    client.receive(common::now(), &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(texts(&mut client), ["Hello"]);
}

/// §7.2.3.2: the second "Hello" refers back into the first message's data.
#[test]
fn sharing_the_sliding_window() {
    let mut client = client();
    client.receive(common::now(), &server_frame(true, 0x40, 0x1, &HELLO));
    client.receive(
        common::now(),
        &server_frame(true, 0x40, 0x1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    assert_eq!(texts(&mut client), ["Hello", "Hello"]);
}

/// §7.2.3.3: a stored (uncompressed) DEFLATE block.
#[test]
fn a_block_with_no_compression() {
    let mut client = client();
    client.receive(
        common::now(),
        &[
            0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
    );
    assert_eq!(texts(&mut client), ["Hello"]);
}

/// §7.2.3.4: a block with BFINAL set, then an empty stored block's first byte; the
/// connection goes on afterwards.
#[test]
fn a_block_with_bfinal_set() {
    let mut client = client();
    client.receive(
        common::now(),
        &server_frame(
            true,
            0x40,
            0x1,
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        ),
    );
    // A message that ends right after its BFINAL block (no padding block).
    client.receive(
        common::now(),
        &server_frame(true, 0x40, 0x1, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    // A plain message after both: the inflater was left in a clean state.
    client.receive(common::now(), &server_frame(true, 0x40, 0x1, &HELLO));
    assert_eq!(texts(&mut client), ["Hello", "Hello", "Hello"]);
}

/// §7.2.3.5: two DEFLATE blocks in one message.
#[test]
fn two_blocks_in_one_message() {
    let mut client = client();
    client.receive(
        common::now(),
        &server_frame(
            true,
            0x40,
            0x1,
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
        ),
    );
    assert_eq!(texts(&mut client), ["Hello"]);
}

/// §7.2.3.6: an empty last fragment, compressed as the single byte 0x00.
#[test]
fn an_empty_fragment() {
    let mut client = client();
    // "Hello" sync-flushed (its tail kept: the message goes on), then 0x00.
    let mut first = HELLO.to_vec();
    first.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    client.receive(common::now(), &server_frame(false, 0x40, 0x1, &first));
    client.receive(common::now(), &server_frame(true, 0x00, 0x0, &[0x00]));
    assert_eq!(texts(&mut client), ["Hello"]);
}

/// A server compressing "Hello" writes the RFC's bytes, at the default and the best level.
#[test]
fn compressing_hello_gives_the_rfc_bytes() {
    for level in [DeflateConfig::DEFAULT_LEVEL, 6, 9] {
        let mut config = DeflateConfig::default();
        config.level = level;
        config.threshold = 0;
        let mut server = Session::new(Role::Server, Config::default()).with_extension(Box::new(
            Deflate::new(Role::Server, DeflateParams::default(), &config),
        ));
        server.send_text("Hello").unwrap();
        let wire = server.take_output();
        let mut expected = vec![0xc1, 0x07];
        expected.extend_from_slice(&HELLO);
        assert_eq!(wire.to_vec(), expected, "level {level}");

        server.send_text("Hello").unwrap();
        let wire = server.take_output();
        let mut client = client();
        let mut both = expected.clone();
        both.extend_from_slice(&wire);
        client.receive(common::now(), &both);
        assert_eq!(
            texts(&mut client),
            ["Hello", "Hello"],
            "level {level}: second {wire:02x?}"
        );
        assert!(
            wire.len() <= 2 + 5,
            "level {level}: the second Hello refers back: {wire:02x?}"
        );
    }
}

/// The window-8 peer limit holds for the RFC examples too (a 9-bit inflater reads them).
#[test]
fn examples_decode_with_the_smallest_window() {
    let params = DeflateParams::new(false, false, WindowBits::MIN, WindowBits::MIN);
    let mut client = client_with(params);
    client.receive(common::now(), &server_frame(true, 0x40, 0x1, &HELLO));
    client.receive(
        common::now(),
        &server_frame(true, 0x40, 0x1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    assert_eq!(texts(&mut client), ["Hello", "Hello"]);
}

/// Corrupt compressed data fails the connection with 1007 (invalid payload data).
#[test]
fn corrupt_data_fails_with_1007() {
    let mut client = client();
    // Block type 3 is reserved.
    client.receive(
        common::now(),
        &server_frame(true, 0x40, 0x1, &[0xff, 0xff, 0xff]),
    );
    common::assert_fails_with(&mut client, CloseCode::INVALID_PAYLOAD);
}

/// A compressed text message that inflates to invalid UTF-8 fails with 1007.
#[test]
fn compressed_invalid_utf8_fails_with_1007() {
    let mut config = DeflateConfig::default();
    config.threshold = 0;
    // A binary message's compressed payload, re-sent as text.
    let mut sender = Session::new(Role::Server, Config::default()).with_extension(Box::new(
        Deflate::new(Role::Server, DeflateParams::default(), &config),
    ));
    sender.send_binary(&[0xff, 0xfe, 0xfd]).unwrap();
    let mut wire = sender.take_output().to_vec();
    wire[0] = (wire[0] & 0xf0) | 0x1;
    let mut client = client();
    client.receive(common::now(), &wire);
    common::assert_fails_with(&mut client, CloseCode::INVALID_PAYLOAD);
}
