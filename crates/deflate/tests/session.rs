//! Whole conversations through an in-memory client↔server pair of sessions that agreed on
//! permessage-deflate: every parameter combination, fragments, the threshold, empty messages
//! and the RSV1 rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use common::{
    WireFrame, assert_fails_with, client_frame, compressed_stream, json_like, messages,
    negotiated_pair, noise, now, pair_with, parse_frames, send_and_check, transfer,
};
use wintergreen_codec::{CloseCode, Config, DataKind, Event, Message, Role, Session};
use wintergreen_deflate::{
    Deflate, DeflateConfig, DeflateFactory, DeflateOffer, DeflateParams, ServerPolicy, WindowBits,
};

fn bits(n: u8) -> WindowBits {
    WindowBits::new(n).unwrap()
}

fn compress_all() -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.threshold = 0;
    config
}

/// Data that tempts a compressor to reach far back: a 300-byte random pattern repeated.
fn far_repeats(len: usize) -> Vec<u8> {
    let pattern = noise(99, 300);
    pattern.iter().copied().cycle().take(len).collect()
}

fn sample_messages() -> Vec<Message> {
    vec![
        Message::text(""),
        Message::text("Hello"),
        Message::text(json_like(1, 128)),
        Message::text(json_like(2, 128)),
        Message::text(json_like(2, 128)),
        Message::binary(noise(3, 700)),
        Message::text(json_like(4, 1024)),
        Message::binary(far_repeats(3000)),
        Message::binary(vec![0u8; 5000]),
        Message::text(json_like(5, 16 * 1024)),
        Message::text(""),
        Message::text("Hello"),
    ]
}

/// Checks the compressed stream with an independent decoder: it decodes to the compressed
/// messages among `sent`, and never reaches back further than the sender's window (256
/// bytes for 8 bits).
fn check_stream(frames: &[WireFrame], sent: &[Message], window: WindowBits, what: &str) {
    let decoded = common::puff::inflate(&compressed_stream(frames))
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    // Each data message's first frame tells whether it was compressed.
    let firsts = frames.iter().filter(|f| f.opcode == 0x1 || f.opcode == 0x2);
    let expected: Vec<u8> = firsts
        .zip(sent.iter().filter(|m| m.is_data()))
        .filter(|(first, _)| first.rsv & 0x40 != 0)
        .flat_map(|(_, m)| m.clone().into_data().to_vec())
        .collect();
    assert!(
        decoded.output == expected,
        "{what}: the stream does not decode to the messages"
    );
    assert!(
        decoded.max_distance <= window.window_size(),
        "{what}: distance {} beyond a {}-bit window",
        decoded.max_distance,
        window
    );
}

#[test]
fn every_takeover_and_window_combination_round_trips() {
    let sent = sample_messages();
    let config = compress_all();
    for server_no_context_takeover in [false, true] {
        for client_no_context_takeover in [false, true] {
            for server_bits in 8..=15 {
                for client_bits in 8..=15 {
                    let params = DeflateParams::new(
                        server_no_context_takeover,
                        client_no_context_takeover,
                        bits(server_bits),
                        bits(client_bits),
                    );
                    let what = format!("{params:?}");
                    let (mut client, mut server) = pair_with(params, &config, Config::default());
                    let up = send_and_check(&mut client, &mut server, &sent);
                    let down = send_and_check(&mut server, &mut client, &sent);
                    // Every data message is compressed (threshold 0), RSV1 on its first frame.
                    for frames in [&up, &down] {
                        assert!(frames.iter().all(|f| f.rsv == 0x40), "{what}");
                    }
                    check_stream(&up, &sent, bits(client_bits), &what);
                    check_stream(&down, &sent, bits(server_bits), &what);
                    // A second round on the same context.
                    send_and_check(&mut client, &mut server, &sent);
                    send_and_check(&mut server, &mut client, &sent);
                }
            }
        }
    }
}

#[test]
fn without_context_takeover_every_message_decodes_on_its_own() {
    // Each message must stand alone: decode each with a fresh, independent decoder.
    let sent = sample_messages();
    for bits_n in [8, 9, 15] {
        for sender_is_server in [false, true] {
            let params = DeflateParams::new(
                sender_is_server,
                !sender_is_server,
                bits(bits_n),
                bits(bits_n),
            );
            let (mut client, mut server) = pair_with(params, &compress_all(), Config::default());
            // Twice, so that the second round could refer back to the first.
            for _ in 0..2 {
                let frames = if sender_is_server {
                    send_and_check(&mut server, &mut client, &sent)
                } else {
                    send_and_check(&mut client, &mut server, &sent)
                };
                for (frame, message) in frames.iter().zip(&sent) {
                    let single = std::slice::from_ref(frame);
                    check_stream(single, std::slice::from_ref(message), bits(bits_n), "alone");
                }
            }
            // The other direction keeps its context: its repeats refer back (given a window
            // as large as the message).
            let repeat = [
                Message::text(json_like(11, 1000)),
                Message::text(json_like(11, 1000)),
            ];
            let frames = if sender_is_server {
                send_and_check(&mut client, &mut server, &repeat)
            } else {
                send_and_check(&mut server, &mut client, &repeat)
            };
            if bits_n == 15 {
                assert!(frames[1].payload.len() * 10 < frames[0].payload.len());
            }
        }
    }
}

#[test]
fn context_takeover_shrinks_repeated_messages_and_no_takeover_does_not() {
    let message = Message::text(json_like(7, 1024));
    for no_takeover in [false, true] {
        let params = DeflateParams::new(no_takeover, no_takeover, WindowBits::MAX, WindowBits::MAX);
        let (mut client, mut server) = pair_with(params, &compress_all(), Config::default());
        let first = send_and_check(&mut server, &mut client, std::slice::from_ref(&message));
        let second = send_and_check(&mut server, &mut client, std::slice::from_ref(&message));
        let (first, second) = (first[0].payload.len(), second[0].payload.len());
        if no_takeover {
            assert_eq!(first, second);
        } else {
            assert!(
                second * 10 < first,
                "a repeat costs {second} bytes, the first {first}"
            );
        }
    }
}

#[test]
fn factories_negotiate_a_working_pair() {
    let mut client_config = DeflateConfig::default();
    client_config.offers = vec![
        DeflateOffer::new()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(Some(bits(9)))
            .client_max_window_bits(bits(10)),
        DeflateConfig::default_offer(),
    ];
    let mut server_config = DeflateConfig::default();
    let mut policy = ServerPolicy::default();
    policy.client_max_window_bits = bits(8);
    server_config.server = policy;
    let (mut client, mut server) = negotiated_pair(
        &DeflateFactory::new(client_config),
        &DeflateFactory::new(server_config),
        Config::default(),
    );
    let expected = DeflateParams::new(true, true, bits(9), bits(8));
    for session in [&client, &server] {
        let ext = session.extension().unwrap();
        assert_eq!(ext.name(), "permessage-deflate");
    }
    let sent = sample_messages();
    let up = send_and_check(&mut client, &mut server, &sent);
    let down = send_and_check(&mut server, &mut client, &sent);
    check_stream(&up, &sent[..], expected.client_max_window_bits, "up");
    check_stream(&down, &sent[..], expected.server_max_window_bits, "down");

    let (mut client, mut server) = negotiated_pair(
        &DeflateFactory::client_default(),
        &DeflateFactory::server_default(),
        Config::default(),
    );
    send_and_check(&mut client, &mut server, &sent);
    send_and_check(&mut server, &mut client, &sent);
}

// ---- fragments ----------------------------------------------------------------------------

#[test]
fn max_send_frame_size_splits_compressed_messages_with_rsv1_on_the_first_frame_only() {
    for frame_size in [1, 2, 7, 100, 4096] {
        let mut session = Config::default();
        session.max_send_frame_size = frame_size;
        for no_takeover in [false, true] {
            let params = DeflateParams::new(no_takeover, no_takeover, bits(12), bits(10));
            let (mut client, mut server) = pair_with(params, &compress_all(), session.clone());
            let sent = [
                Message::text(json_like(1, 2000)),
                Message::binary(noise(2, 3000)),
                Message::text("Hello"),
                Message::text(""),
            ];
            for upward in [true, false] {
                let frames = if upward {
                    send_and_check(&mut client, &mut server, &sent)
                } else {
                    send_and_check(&mut server, &mut client, &sent)
                };
                let mut first = true;
                for frame in &frames {
                    assert!(frame.payload.len() <= frame_size);
                    assert_eq!(frame.rsv, if first { 0x40 } else { 0 }, "{frame_size}");
                    assert_eq!(frame.opcode == 0, !first);
                    first = frame.fin;
                }
            }
        }
    }
}

/// Sends `pieces` as one caller-fragmented message with a ping after each piece.
fn send_pieces(from: &mut Session, kind: DataKind, pieces: &[&[u8]]) {
    for (i, piece) in pieces.iter().enumerate() {
        from.send_fragment(kind, piece, i + 1 == pieces.len())
            .unwrap();
        from.send_ping(b"p").unwrap();
    }
}

#[test]
fn send_fragment_compresses_each_piece_and_interleaves_control_frames() {
    let json = json_like(3, 3000);
    let pieces: Vec<&[u8]> = vec![
        b"",
        &json.as_bytes()[..1000],
        b"",
        &json.as_bytes()[1000..],
        b"",
    ];
    for no_takeover in [false, true] {
        for window in [8, 9, 15] {
            let params = DeflateParams::new(no_takeover, no_takeover, bits(window), bits(window));
            // The default threshold does not apply: a fragmented message's size is unknown.
            let (mut client, mut server) =
                pair_with(params, &DeflateConfig::default(), Config::default());
            let mut all_frames = Vec::new();
            let mut all_sent = Vec::new();
            for _ in 0..3 {
                send_pieces(&mut client, DataKind::Text, &pieces);
                let wire = transfer(&mut client, &mut server);
                let frames = parse_frames(&wire);
                let data: Vec<&WireFrame> = frames.iter().filter(|f| f.opcode < 8).collect();
                assert_eq!(data.len(), pieces.len());
                assert_eq!(data[0].rsv, 0x40);
                assert!(data[1..].iter().all(|f| f.rsv == 0 && f.opcode == 0));
                let got = messages(&mut server);
                let pings = got.iter().filter(|m| matches!(m, Message::Ping(_))).count();
                assert_eq!(pings, pieces.len());
                let texts: Vec<&Message> = got.iter().filter(|m| m.is_data()).collect();
                assert!(texts == [&Message::text(json.clone())]);
                all_frames.extend(frames);
                all_sent.push(Message::text(json.clone()));
                // Answering pongs went back to the client.
                let _ = transfer(&mut server, &mut client);
                let _ = messages(&mut client);
            }
            check_stream(&all_frames, &all_sent, bits(window), "fragments");
        }
    }
}

#[test]
fn each_fragment_can_be_inflated_on_arrival() {
    // Each piece ends with a sync flush, so a streaming receiver gets its data at once.
    let mut receiving = Config::default();
    receiving.streaming = true;
    let params = DeflateParams::default();
    let mut client = Session::new(Role::Client, Config::default()).with_extension(Box::new(
        Deflate::new(Role::Client, params, &DeflateConfig::default()),
    ));
    let mut server = Session::new(Role::Server, receiving).with_extension(Box::new(Deflate::new(
        Role::Server,
        params,
        &DeflateConfig::default(),
    )));
    let pieces = [
        json_like(1, 500),
        json_like(2, 700),
        String::new(),
        json_like(3, 10),
    ];
    for (i, piece) in pieces.iter().enumerate() {
        let fin = i + 1 == pieces.len();
        client
            .send_fragment(DataKind::Text, piece.as_bytes(), fin)
            .unwrap();
        transfer(&mut client, &mut server);
        match server.poll_event() {
            Some(Ok(Event::Fragment(fragment))) => {
                assert_eq!(fragment.data, piece.as_bytes(), "piece {i}");
                assert_eq!(fragment.first, i == 0);
                assert_eq!(fragment.fin, fin);
            }
            other => panic!("piece {i}: {other:?}"),
        }
    }
}

#[test]
fn streaming_receive_of_large_compressed_messages() {
    let mut receiving = Config::default();
    receiving.streaming = true;
    let mut sending = Config::default();
    sending.max_send_frame_size = 1000;
    let params = DeflateParams::new(false, false, bits(11), bits(11));
    let config = compress_all();
    let mut server = Session::new(Role::Server, sending).with_extension(Box::new(Deflate::new(
        Role::Server,
        params,
        &config,
    )));
    let mut client = Session::new(Role::Client, receiving).with_extension(Box::new(Deflate::new(
        Role::Client,
        params,
        &config,
    )));
    let message = json_like(9, 200_000);
    server.send_text(&message).unwrap();
    transfer(&mut server, &mut client);
    let mut got = Vec::new();
    let mut fins = 0;
    while let Some(event) = client.poll_event() {
        match event.unwrap() {
            Event::Fragment(fragment) => {
                got.extend_from_slice(&fragment.data);
                fins += usize::from(fragment.fin);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fins, 1);
    assert_eq!(got, message.as_bytes());
}

// ---- threshold ----------------------------------------------------------------------------

#[test]
fn messages_under_the_threshold_go_uncompressed_with_rsv1_clear() {
    let config = DeflateConfig::default();
    let (mut client, mut server) = pair_with(DeflateParams::default(), &config, Config::default());
    let small = "x".repeat(DeflateConfig::DEFAULT_THRESHOLD - 1);
    let large = "x".repeat(DeflateConfig::DEFAULT_THRESHOLD);
    let frames = send_and_check(
        &mut server,
        &mut client,
        &[Message::text(small.clone()), Message::text(large)],
    );
    assert_eq!(frames[0].rsv, 0);
    assert_eq!(frames[0].payload, small.as_bytes());
    assert_eq!(frames[1].rsv, 0x40);
    assert!(frames[1].payload.len() < DeflateConfig::DEFAULT_THRESHOLD);
    let frames = send_and_check(
        &mut client,
        &mut server,
        &[Message::binary(vec![1; 3]), Message::text("")],
    );
    assert!(frames.iter().all(|f| f.rsv == 0));
}

#[test]
fn a_threshold_of_zero_compresses_everything_and_a_huge_one_nothing() {
    let mut config = DeflateConfig::default();
    config.threshold = usize::MAX;
    let (mut client, mut server) = pair_with(DeflateParams::default(), &config, Config::default());
    let sent = sample_messages();
    let frames = send_and_check(&mut client, &mut server, &sent);
    assert!(frames.iter().all(|f| f.rsv == 0));
    let (mut client, mut server) =
        pair_with(DeflateParams::default(), &compress_all(), Config::default());
    let frames = send_and_check(&mut client, &mut server, &sent);
    assert!(frames.iter().all(|f| f.rsv == 0x40));
}

#[test]
fn messages_under_the_threshold_never_touch_the_context() {
    let mut config = DeflateConfig::default();
    config.threshold = 100;
    let big = Message::text(json_like(1, 1000));
    let big2 = Message::text(json_like(2, 1000));
    let small = Message::text("short, but it shares words with the json: price symbol trade");
    // Two servers (their frames are unmasked, so the bytes compare): one sends a small
    // message between the big ones, the other does not.
    let mut with_small = pair_with(DeflateParams::default(), &config, Config::default());
    let mut without = pair_with(DeflateParams::default(), &config, Config::default());
    let a = send_and_check(
        &mut with_small.1,
        &mut with_small.0,
        &[big.clone(), small, big2.clone()],
    );
    let b = send_and_check(&mut without.1, &mut without.0, &[big, big2]);
    assert_eq!(a[1].rsv, 0);
    assert_eq!(a[2], b[1]);
}

// ---- empty messages -----------------------------------------------------------------------

#[test]
fn empty_messages_compress_to_a_single_zero_byte() {
    let (mut client, mut server) =
        pair_with(DeflateParams::default(), &compress_all(), Config::default());
    let sent = [
        Message::text(""),
        Message::binary(Vec::new()),
        Message::text("Hello"),
        Message::text(""),
        Message::text(""),
    ];
    let frames = send_and_check(&mut server, &mut client, &sent);
    for (i, frame) in frames.iter().enumerate() {
        if i != 2 {
            assert_eq!(frame.payload, [0x00], "message {i}");
            assert_eq!(frame.rsv, 0x40);
        }
    }
    // And a fragmented message whose pieces are all empty.
    send_pieces(&mut client, DataKind::Binary, &[b"", b"", b""]);
    transfer(&mut client, &mut server);
    let got: Vec<Message> = messages(&mut server)
        .into_iter()
        .filter(Message::is_data)
        .collect();
    assert_eq!(got, [Message::binary(Vec::new())]);
}

#[test]
fn a_compressed_message_with_no_bytes_at_all_reads_as_empty() {
    // Some peers send an empty payload with RSV1 for an empty message.
    let params = DeflateParams::default();
    let (_, mut server) = pair_with(params, &compress_all(), Config::default());
    let mut wire = client_frame(true, 0x40, 0x1, b"");
    wire.extend(client_frame(false, 0x40, 0x2, b""));
    wire.extend(client_frame(true, 0x00, 0x0, b""));
    server.receive(now(), &wire);
    assert_eq!(
        messages(&mut server),
        [Message::text(""), Message::binary(Vec::new())]
    );
    // The context is intact afterwards.
    let mut client = Session::new(Role::Client, Config::default()).with_extension(Box::new(
        Deflate::new(Role::Client, params, &compress_all()),
    ));
    send_and_check(&mut client, &mut server, &sample_messages());
}

#[test]
fn uncompressed_messages_are_accepted_when_deflate_was_agreed() {
    let (_, mut server) = pair_with(DeflateParams::default(), &compress_all(), Config::default());
    let mut wire = client_frame(true, 0x00, 0x1, b"plain");
    wire.extend(client_frame(false, 0x00, 0x2, b"pla"));
    wire.extend(client_frame(true, 0x00, 0x0, b"in"));
    server.receive(now(), &wire);
    assert_eq!(
        messages(&mut server),
        [Message::text("plain"), Message::binary(&b"plain"[..])]
    );
}

#[test]
fn level_zero_sends_stored_blocks() {
    let mut config = compress_all();
    config.level = 0;
    let (mut client, mut server) = pair_with(DeflateParams::default(), &config, Config::default());
    let sent = sample_messages();
    let frames = send_and_check(&mut client, &mut server, &sent);
    let decoded = common::puff::inflate(&compressed_stream(&frames)).unwrap();
    assert_eq!(
        decoded.blocks[1] + decoded.blocks[2],
        0,
        "only stored blocks"
    );
    send_and_check(&mut server, &mut client, &sent);
}

// ---- limits -------------------------------------------------------------------------------

#[test]
fn a_message_inflating_to_exactly_the_limit_passes_and_one_byte_more_fails_with_1009() {
    let mut session = Config::default();
    session.max_message_size = 1000;
    let (mut client, mut server) =
        pair_with(DeflateParams::default(), &compress_all(), session.clone());
    send_and_check(
        &mut client,
        &mut server,
        &[Message::binary(vec![0u8; 1000])],
    );
    let mut sender = Config::default();
    sender.max_send_frame_size = 3;
    let (mut big_client, _) = pair_with(DeflateParams::default(), &compress_all(), sender);
    let (_, mut server) = pair_with(DeflateParams::default(), &compress_all(), session);
    big_client.send_binary(&[0u8; 1001]).unwrap();
    transfer(&mut big_client, &mut server);
    assert_fails_with(&mut server, CloseCode::MESSAGE_TOO_BIG);
}

// ---- RSV bits -----------------------------------------------------------------------------

/// A server with deflate agreed, fed `wire` from a client.
fn server_receiving(wire: &[u8]) -> Session {
    let (_, mut server) = pair_with(DeflateParams::default(), &compress_all(), Config::default());
    server.receive(now(), wire);
    server
}

#[test]
fn rsv1_on_a_continuation_frame_fails_with_1002() {
    let mut wire = client_frame(false, 0x40, 0x1, &[0xf2, 0x48, 0xcd]);
    wire.extend(client_frame(true, 0x40, 0x0, &[0xc9, 0xc9, 0x07, 0x00]));
    let mut server = server_receiving(&wire);
    assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
    // Also when the message's first frame was uncompressed.
    let mut wire = client_frame(false, 0x00, 0x1, b"Hel");
    wire.extend(client_frame(true, 0x40, 0x0, b"lo"));
    let mut server = server_receiving(&wire);
    assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
}

#[test]
fn rsv1_on_a_control_frame_fails_with_1002() {
    for opcode in [0x8, 0x9, 0xa] {
        let payload: &[u8] = if opcode == 0x8 {
            &[0x03, 0xe8]
        } else {
            b"ping"
        };
        let mut server = server_receiving(&client_frame(true, 0x40, opcode, payload));
        assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
    }
    // In the middle of a compressed message too.
    let mut wire = client_frame(false, 0x40, 0x1, &[0xf2, 0x48, 0xcd]);
    wire.extend(client_frame(true, 0x40, 0x9, b""));
    let mut server = server_receiving(&wire);
    assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
}

#[test]
fn rsv2_and_rsv3_fail_with_1002_when_only_deflate_was_agreed() {
    for rsv in [0x20, 0x10, 0x60, 0x70] {
        let mut server = server_receiving(&client_frame(true, rsv, 0x1, b"x"));
        assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
    }
}

#[test]
fn rsv1_without_deflate_agreed_fails_with_1002() {
    let mut server = Session::new(Role::Server, Config::default());
    server.receive(
        now(),
        &client_frame(true, 0x40, 0x1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    assert_fails_with(&mut server, CloseCode::PROTOCOL_ERROR);
}
