//! A message whose DEFLATE data stops inside a block is cut off, not complete: even with
//! `00 00 ff ff` put back (RFC 7692 §7.2.2) it does not end at a block boundary. It fails the
//! connection with 1007 (RFC 6455 §7.4.1) instead of delivering whatever inflated. A message
//! that ends with a final block (§7.2.3.4), or exactly at a sync flush, is complete.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::shapes::{Sender, Shape, TAIL};
use common::{
    assert_fails_with, client_frame, default_server, json_like, noise, puff, session_with, texts,
};
use wintergreen_codec::{CloseCode, Event, Extension, ExtensionError, Message, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, InflateError, WindowBits};

/// "Hello", sync-flushed, tail stripped (RFC 7692 §7.2.3.1).
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn receiver() -> Deflate {
    Deflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    )
}

fn inflate(receiver: &mut Deflate, payload: &[u8]) -> Result<Vec<u8>, ExtensionError> {
    assert!(receiver.decode_start(Rsv::RSV1));
    let mut out = BytesMut::new();
    receiver.decode(payload, true, &mut out, usize::MAX)?;
    Ok(out.to_vec())
}

#[test]
fn a_message_cut_off_inside_a_block_fails_the_server_with_1007() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &HELLO[..3]));
    assert_fails_with(&mut server, CloseCode::INVALID_PAYLOAD);
}

#[test]
fn a_message_cut_off_after_good_messages_fails_with_1007_and_delivers_nothing_of_it() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &HELLO));
    let long = json_like(7, 5_000);
    let mut sender = Sender::new(15, true);
    sender.send(Shape::Sync, b"Hello");
    let cut = sender.send(Shape::Sync, long.as_bytes()).wire;
    server.receive(
        common::now(),
        &client_frame(true, 0x40, 0x2, &cut[..cut.len() / 2]),
    );
    let events = common::events(&mut server);
    assert!(
        matches!(&events[0], Ok(Event::Message(Message::Text(t))) if t.as_str() == "Hello"),
        "{events:?}"
    );
    let err = events[1].as_ref().unwrap_err();
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD, "{err}");
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn a_truncated_message_is_a_typed_error_with_close_code_1007() {
    let err = inflate(&mut receiver(), &HELLO[..5]).unwrap_err();
    assert_eq!(err, ExtensionError::from(InflateError::Truncated));
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
}

/// The connection's error keeps the inflater's typed error: an application can tell a
/// truncated message from corrupt data without reading text.
#[test]
fn the_connection_error_leads_to_the_typed_inflate_error() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &HELLO[..3]));
    let events = common::events(&mut server);
    let err = events
        .iter()
        .find_map(|event| event.as_ref().err())
        .expect("the connection fails");
    // Down the `source()` chain: ConnectionError → ProtocolError → ExtensionError →
    // InflateError.
    let mut found = None;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = next {
        if let Some(inflate) = current.downcast_ref::<InflateError>() {
            found = Some(*inflate);
        }
        next = current.source();
    }
    assert_eq!(found, Some(InflateError::Truncated), "{err:?}");
    // And directly from the extension error.
    let ext = inflate(&mut receiver(), &[0xff, 0xff, 0xff]).unwrap_err();
    let cause = ext.cause().and_then(|c| c.downcast_ref::<InflateError>());
    assert!(matches!(cause, Some(InflateError::Corrupt(_))), "{ext:?}");
}

#[test]
fn a_message_cut_off_in_its_last_fragment_fails_with_1007() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(false, 0x40, 0x1, &HELLO[..3]));
    server.receive(common::now(), &client_frame(true, 0x00, 0x0, &HELLO[3..5]));
    assert_fails_with(&mut server, CloseCode::INVALID_PAYLOAD);
}

#[test]
fn a_message_ending_with_a_final_block_and_nothing_else_is_complete() {
    let mut server = default_server();
    server.receive(
        common::now(),
        &client_frame(true, 0x40, 0x1, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    // A final empty stored block, whole and with its `00 00 ff ff` stripped.
    server.receive(
        common::now(),
        &client_frame(true, 0x40, 0x1, &[0x01, 0x00, 0x00, 0xff, 0xff]),
    );
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &[0x01]));
    assert_eq!(texts(&mut server), ["Hello", "", ""]);
}

#[test]
fn a_message_ending_exactly_at_a_sync_flush_is_complete_with_or_without_its_tail() {
    let mut server = default_server();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &HELLO));
    // A sender that did not strip the tail: the receiver's own tail is one more empty block.
    let whole = [&HELLO[..], &TAIL].concat();
    server.receive(common::now(), &client_frame(true, 0x40, 0x1, &whole));
    // The same with the tail split over two fragments, and an empty last fragment.
    server.receive(common::now(), &client_frame(false, 0x40, 0x1, &whole[..9]));
    server.receive(common::now(), &client_frame(false, 0x00, 0x0, &whole[9..]));
    server.receive(common::now(), &client_frame(true, 0x00, 0x0, &[]));
    assert_eq!(texts(&mut server), ["Hello", "Hello", "Hello"]);
}

/// Every cut of stored, fixed and dynamic payloads, at every byte: the receiver calls the
/// message complete exactly when an independent RFC 1951 decoder, given the cut with the
/// tail put back (or as it is, when it ends with a whole sync flush), reads it to a block
/// boundary, and then with the same output; every other cut fails with an error that closes
/// with 1007.
#[test]
fn every_cut_is_complete_exactly_when_an_independent_decoder_reads_it_to_a_block_boundary() {
    let text = json_like(3, 3_000);
    let mut payloads = Vec::new();
    for (shape, data) in [
        (Shape::Stored, noise(5, 300)),
        (Shape::Sync, b"Hello, hello, hello world".to_vec()),
        (Shape::Dynamic, text.clone().into_bytes()),
        (Shape::SyncInside, text.clone().into_bytes()),
        (Shape::PartialInside, text.into_bytes()),
        (Shape::FixedFarMatch, b"abcabcabc".to_vec()),
    ] {
        payloads.push((shape, Sender::new(15, true).send(shape, &data).wire));
    }
    let (mut complete, mut cut_off) = (0, 0);
    for (shape, payload) in &payloads {
        for len in 1..=payload.len() {
            let prefix = &payload[..len];
            // A cut right after a whole sync flush (its `00 00 ff ff` left in place) ends at a
            // block boundary as it is.
            let oracle = if prefix.ends_with(&TAIL) {
                puff::inflate(prefix)
            } else {
                puff::inflate(&[prefix, &TAIL].concat())
            };
            let ours = inflate(&mut receiver(), prefix);
            match (oracle, ours) {
                (Ok(expected), Ok(got)) => {
                    assert!(
                        got == expected.output,
                        "{shape:?} cut at {len}: output differs"
                    );
                    complete += 1;
                }
                (Err(_), Err(err)) => {
                    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD, "{err}");
                    cut_off += 1;
                }
                (oracle, ours) => panic!(
                    "{shape:?} cut at {len} of {}: independent decoder {:?}, ours {ours:?}",
                    payload.len(),
                    oracle.map(|d| d.output.len())
                ),
            }
        }
    }
    assert!(
        complete >= payloads.len() && cut_off > 1000,
        "{complete} {cut_off}"
    );
}

/// The same boundary rule at the smallest and the largest window, whole-message cuts of a
/// conversation with context takeover: the message before each cut still decodes.
#[test]
fn a_cut_message_after_others_fails_at_every_window() {
    for bits in [8, 15] {
        let window = WindowBits::new(bits).unwrap();
        let params = DeflateParams::new(false, false, WindowBits::MAX, window);
        let mut sender = Sender::new(bits, true);
        let first = sender.send(Shape::Sync, &noise(9, 2_000));
        let second = sender.send(Shape::Dynamic, json_like(4, 4_000).as_bytes());
        let mut receiver = Deflate::new(Role::Server, params, &DeflateConfig::default());
        assert_eq!(inflate(&mut receiver, &first.wire).unwrap(), first.data);
        let err = inflate(&mut receiver, &second.wire[..second.wire.len() - 3]).unwrap_err();
        assert_eq!(
            err.close_code(),
            CloseCode::INVALID_PAYLOAD,
            "bits {bits}: {err}"
        );
    }
}

/// A session test of the brief's two complete endings, in a client session too.
#[test]
fn a_client_session_accepts_a_final_block_and_rejects_a_cut() {
    let mut client = session_with(Role::Client, DeflateParams::default());
    client.receive(
        common::now(),
        &common::server_frame(true, 0x40, 0x1, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    client.receive(
        common::now(),
        &common::server_frame(true, 0x40, 0x1, &HELLO[..4]),
    );
    let events = common::events(&mut client);
    assert!(events[0].is_ok(), "{events:?}");
    assert_eq!(
        events[1].as_ref().unwrap_err().close_code(),
        CloseCode::INVALID_PAYLOAD
    );
}

/// A stored block whose four bytes of data are the tail itself ends inside what the receiver
/// appended; with the output room exactly full when it ends, the boundary is confirmed with
/// an empty stored block instead of the lone probe, and one byte less room is a 1009.
#[test]
fn a_block_ending_in_the_tail_with_the_output_exactly_full_is_complete() {
    let payload = [0x00, 0x04, 0x00, 0xfb, 0xff];
    let expected = puff::inflate(&[&payload[..], &TAIL].concat())
        .unwrap()
        .output;
    assert_eq!(expected, TAIL);
    let mut receiver = receiver();
    assert!(receiver.decode_start(Rsv::RSV1));
    let mut out = BytesMut::new();
    receiver.decode(&payload, true, &mut out, 4).unwrap();
    assert_eq!(&out[..], &TAIL);
    // The window goes on: "Hello" next, then a cut.
    assert_eq!(inflate(&mut receiver, &HELLO).unwrap(), b"Hello");
    let mut small = self::receiver();
    assert!(small.decode_start(Rsv::RSV1));
    let err = small
        .decode(&payload, true, &mut BytesMut::new(), 3)
        .unwrap_err();
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
}
