//! Every DEFLATE stream shape a peer may produce inflates, message after message, with and
//! without context takeover, at every window size 8–15, in both roles (RFC 7692 §7.2.2,
//! §7.2.3; RFC 1951 §3.2). Each conversation is first read by two decoders independent of
//! zlib (this crate's own `common::puff`, and miniz_oxide), so the sender is known to be
//! right before the receiver is judged.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::miniz::Reference;
use common::shapes::{Sender, Sent, Shape};
use common::{client_frame, json_like, messages, noise, puff, server_frame};
use wintergreen_codec::{Config, Event, Extension, Message, Role, Rsv, Session};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

/// Message data of varied sizes and kinds: short and long, repetitive and not, and longer
/// than the largest window.
fn data_for(i: usize) -> Vec<u8> {
    let len = [5, 120, 1_500, 9_000, 40_000][i % 5];
    match i % 3 {
        0 => json_like(i as u64, len).into_bytes(),
        1 => {
            // Noise repeated with a long period: matches reach far back.
            let period = noise(i as u64, 300 + i % 700);
            period.iter().copied().cycle().take(len).collect()
        }
        _ => noise(i as u64, len),
    }
}

/// The order of shapes in a conversation: each shape on its own, each after a message that
/// ends the stream, and each followed by a hand-made block that reaches back across it.
fn script() -> Vec<Shape> {
    let mut order = Shape::ALL.to_vec();
    for shape in Shape::ALL {
        order.extend([Shape::Final, shape]);
    }
    for shape in Shape::ALL {
        order.extend([shape, Shape::FixedFarMatch]);
    }
    order
}

/// A conversation from a sender with an agreed `bits`-bit window.
fn conversation(bits: u8, takeover: bool) -> Vec<Sent> {
    let mut sender = Sender::new(bits, takeover);
    script()
        .into_iter()
        .enumerate()
        .map(|(i, shape)| sender.send(shape, &data_for(i)))
        .collect()
}

/// The agreed parameters when the peer sends with `bits` and `takeover` to a receiver in
/// `role` (the receiver's own direction keeps the defaults).
fn params(role: Role, bits: u8, takeover: bool) -> DeflateParams {
    let window = WindowBits::new(bits).unwrap();
    match role {
        // The client receives what the server sends.
        Role::Client => DeflateParams::new(!takeover, false, window, WindowBits::MAX),
        Role::Server => DeflateParams::new(false, !takeover, WindowBits::MAX, window),
    }
}

fn windows() -> impl Iterator<Item = (u8, bool)> {
    (8..=15).flat_map(|bits| [(bits, true), (bits, false)])
}

#[test]
fn the_shape_sender_is_checked_by_two_independent_decoders() {
    let mut blocks = [0; 3];
    for (bits, takeover) in windows() {
        let sent = conversation(bits, takeover);
        // miniz_oxide, message by message over one window.
        let mut reference = Reference::default();
        for (i, message) in sent.iter().enumerate() {
            let out = reference
                .inflate(&message.reference)
                .unwrap_or_else(|err| panic!("bits {bits} takeover {takeover} message {i}: {err}"));
            assert!(
                out == message.data,
                "bits {bits} takeover {takeover} message {i}"
            );
        }
        // Our own RFC 1951 decoder, the whole conversation as one stream.
        let stream: Vec<u8> = sent.iter().flat_map(|s| s.reference.clone()).collect();
        let expected: Vec<u8> = sent.iter().flat_map(|s| s.data.clone()).collect();
        let decoded = puff::inflate(&stream)
            .unwrap_or_else(|err| panic!("bits {bits} takeover {takeover}: {err}"));
        assert!(
            decoded.output == expected,
            "bits {bits} takeover {takeover}"
        );
        assert!(
            decoded.max_distance <= 1 << bits,
            "bits {bits}: distance {}",
            decoded.max_distance
        );
        for (total, seen) in blocks.iter_mut().zip(decoded.blocks) {
            *total += seen;
        }
    }
    assert!(
        blocks.iter().all(|&n| n > 0),
        "stored, fixed and dynamic blocks: {blocks:?}"
    );
}

/// RFC 7692 §7.2.2 at the extension: each message whole, then each split in three frames
/// (the first two possibly empty).
#[test]
fn every_stream_shape_inflates_across_messages_at_every_window_in_both_roles() {
    for (bits, takeover) in windows() {
        let sent = conversation(bits, takeover);
        for role in [Role::Client, Role::Server] {
            for split in [false, true] {
                let mut receiver = Deflate::new(
                    role,
                    params(role, bits, takeover),
                    &DeflateConfig::default(),
                );
                for (i, message) in sent.iter().enumerate() {
                    let what = format!(
                        "{role:?} bits {bits} takeover {takeover} split {split} message {i}"
                    );
                    assert!(receiver.decode_start(Rsv::RSV1));
                    let mut out = BytesMut::new();
                    let wire = &message.wire;
                    let result = if split {
                        let (a, b) = (wire.len() / 3, 2 * wire.len() / 3);
                        receiver
                            .decode(&wire[..a], false, &mut out, usize::MAX)
                            .and_then(|()| {
                                receiver.decode(&wire[a..b], false, &mut out, usize::MAX)
                            })
                            .and_then(|()| receiver.decode(&wire[b..], true, &mut out, usize::MAX))
                    } else {
                        receiver.decode(wire, true, &mut out, usize::MAX)
                    };
                    result.unwrap_or_else(|err| panic!("{what}: {err}"));
                    assert!(out == message.data.as_slice(), "{what}: wrong data");
                }
            }
        }
    }
}

/// The same through a `Session` of each role, whole messages and (in streaming mode) frames
/// of at most 1000 bytes, RSV1 on the first only (RFC 7692 §6.1).
#[test]
fn every_stream_shape_inflates_through_a_session_in_both_roles() {
    for (bits, takeover) in windows() {
        let sent = conversation(bits, takeover);
        for role in [Role::Client, Role::Server] {
            for streaming in [false, true] {
                let mut config = Config::default();
                config.streaming = streaming;
                let mut session =
                    Session::new(role, config).with_extension(Box::new(Deflate::new(
                        role,
                        params(role, bits, takeover),
                        &DeflateConfig::default(),
                    )));
                let what =
                    format!("{role:?} bits {bits} takeover {takeover} streaming {streaming}");
                for message in &sent {
                    let frames: Vec<&[u8]> = if streaming && !message.wire.is_empty() {
                        message.wire.chunks(1000).collect()
                    } else {
                        vec![&message.wire]
                    };
                    for (j, piece) in frames.iter().enumerate() {
                        let fin = j + 1 == frames.len();
                        let (rsv, opcode) = if j == 0 { (0x40, 0x2) } else { (0, 0x0) };
                        let frame = match role {
                            Role::Server => client_frame(fin, rsv, opcode, piece),
                            Role::Client => server_frame(fin, rsv, opcode, piece),
                        };
                        session.receive(common::now(), &frame);
                    }
                }
                let received: Vec<u8> = if streaming {
                    std::iter::from_fn(|| session.poll_event())
                        .flat_map(|event| match event {
                            Ok(Event::Fragment(fragment)) => fragment.data.to_vec(),
                            other => panic!("{what}: {other:?}"),
                        })
                        .collect()
                } else {
                    let got = messages(&mut session);
                    assert_eq!(got.len(), sent.len(), "{what}");
                    for (i, (got, message)) in got.iter().zip(&sent).enumerate() {
                        match got {
                            Message::Binary(data) => {
                                assert!(data == message.data.as_slice(), "{what} message {i}");
                            }
                            other => panic!("{what}: {other:?}"),
                        }
                    }
                    continue;
                };
                let expected: Vec<u8> = sent.iter().flat_map(|s| s.data.clone()).collect();
                assert!(received == expected, "{what}: wrong data");
            }
        }
    }
}
