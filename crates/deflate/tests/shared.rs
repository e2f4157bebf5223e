//! The shared-compressor server mode ([`ServerPolicy::shared`]) and the pooled states behind
//! it: what it answers (RFC 7692 §7.1.1.1–§7.1.1.2), that our client and server talk through
//! it, and that every message it sends stands alone for an independent inflater (miniz_oxide).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests

mod common;

use common::miniz::Reference;
use common::{
    WireFrame, compressed_stream, json_like, messages, negotiated_pair, noise, parse_frames,
    send_and_check, transfer,
};
use wintergreen_codec::{
    CloseCode, Config, DataKind, ExtensionFactory, ExtensionParams, Message, Role, Session,
};
use wintergreen_deflate::{
    DeflateConfig, DeflateFactory, DeflateOffer, DeflateParams, ServerPolicy, WindowBits,
    pooled_on_this_thread,
};

fn bits(n: u8) -> WindowBits {
    WindowBits::new(n).unwrap()
}

fn shared_server() -> DeflateFactory {
    let factory = DeflateFactory::server_shared();
    assert_eq!(factory.config().server, ServerPolicy::shared());
    factory
}

fn client_offering(offer: DeflateOffer) -> DeflateFactory {
    let mut config = DeflateConfig::default();
    config.offers = vec![offer];
    DeflateFactory::new(config)
}

/// Checks that each compressed message among `frames` decodes on its own, in a fresh
/// miniz_oxide inflater: no message refers back to another.
fn each_message_stands_alone(frames: &[WireFrame], sent: &[Message]) {
    let mut message = Vec::new();
    let mut index = 0;
    for frame in frames.iter().filter(|f| f.opcode < 0x8) {
        message.push(frame.clone());
        if !frame.fin {
            continue;
        }
        let expected = sent[index].clone().into_data();
        if message[0].rsv & 0x40 != 0 {
            let decoded = Reference::default()
                .inflate(&compressed_stream(&message))
                .unwrap_or_else(|err| panic!("message {index}: {err}"));
            assert!(decoded == expected, "message {index} does not stand alone");
        }
        message.clear();
        index += 1;
    }
    assert_eq!(index, sent.len());
}

fn traffic(seed: u64) -> Vec<Message> {
    vec![
        Message::text(json_like(seed, 128)),
        Message::text(json_like(seed, 128)),
        Message::text(json_like(seed + 1, 1024)),
        Message::binary(noise(seed, 700)),
        Message::text(json_like(seed + 2, 16 * 1024)),
        Message::text(""),
        Message::text(json_like(seed + 3, 100 * 1024)),
    ]
}

#[test]
fn the_shared_policy_answers_every_offer_with_both_no_context_takeover_flags() {
    let server = shared_server();
    let offers = [
        (
            DeflateConfig::default_offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        (
            DeflateOffer::new(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        (
            DeflateOffer::new()
                .server_no_context_takeover(true)
                .server_max_window_bits(Some(bits(12)))
                .client_max_window_bits(bits(10)),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=10",
        ),
    ];
    for (offer, expected) in offers {
        let client = client_offering(offer);
        let (answer, _) = server
            .accept_offers(&client.offers())
            .unwrap()
            .expect("accepted");
        assert_eq!(answer.to_string(), expected);
        // The client reads the answer as an agreement with no context takeover both ways.
        let agreed = client.negotiate_response(&answer).unwrap();
        let params = agreed.params();
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    }
}

#[test]
fn the_default_policy_still_answers_with_context_takeover() {
    let offers = DeflateFactory::client_default().offers();
    let (answer, _) = DeflateFactory::server_default()
        .accept_offers(&offers)
        .unwrap()
        .unwrap();
    assert_eq!(answer, ExtensionParams::new("permessage-deflate"));
}

#[test]
fn our_client_and_a_shared_mode_server_exchange_messages_and_each_stands_alone() {
    let server = shared_server();
    let client = DeflateFactory::client_default();
    // Several connections on one thread, their messages interleaved, so that they share the
    // pooled states.
    let mut pairs: Vec<(Session, Session)> = (0..3)
        .map(|_| negotiated_pair(&client, &server, Config::default()))
        .collect();
    for round in 0..2u64 {
        for (i, (client, server)) in pairs.iter_mut().enumerate() {
            let sent = traffic(round * 10 + i as u64);
            let down = send_and_check(server, client, &sent);
            each_message_stands_alone(&down, &sent);
            let up = send_and_check(client, server, &sent);
            each_message_stands_alone(&up, &sent);
            // Repeats do not shrink: nothing is taken over from the message before.
            assert_eq!(down[0].payload.len(), down[1].payload.len());
            for session in [&*client, &*server] {
                let ext = session.extension().unwrap();
                assert_eq!(ext.name(), "permessage-deflate");
            }
        }
    }
    let (compressors, inflaters) = pooled_on_this_thread();
    assert!(
        (1..=4).contains(&compressors) && (1..=4).contains(&inflaters),
        "{compressors} compressors, {inflaters} inflaters pooled"
    );
}

#[test]
fn a_pooled_inflater_never_lets_one_connection_refer_back_into_anothers_messages() {
    // A peer that ignores the agreed client_no_context_takeover: its second message is a
    // back-reference to its first. Sent on another connection of the same thread, which
    // inflates with the pooled state the first connection gave back, it must fail instead of
    // revealing the first connection's message.
    let secret = json_like(77, 200);
    let payloads = common::compress_each(
        WindowBits::MAX,
        1,
        false,
        &[secret.as_bytes(), secret.as_bytes()],
        false,
    );
    assert!(
        payloads[1].len() < 16,
        "the second message is a back-reference"
    );
    let params = DeflateParams::new(true, true, WindowBits::MAX, WindowBits::MAX);
    let mut first = common::session_with(Role::Server, params);
    let mut second = common::session_with(Role::Server, params);
    first.receive(
        common::now(),
        &common::client_frame(true, 0x40, 0x1, &payloads[0]),
    );
    assert_eq!(messages(&mut first), vec![Message::text(secret.clone())]);
    second.receive(
        common::now(),
        &common::client_frame(true, 0x40, 0x1, &payloads[1]),
    );
    common::assert_fails_with(&mut second, CloseCode::INVALID_PAYLOAD);
    // The same holds within one connection: the agreement forbids referring back.
    first.receive(
        common::now(),
        &common::client_frame(true, 0x40, 0x1, &payloads[1]),
    );
    common::assert_fails_with(&mut first, CloseCode::INVALID_PAYLOAD);
}

#[test]
fn a_fragmented_message_keeps_its_compressor_when_the_connection_moves_threads() {
    let params = DeflateParams::new(true, true, WindowBits::MAX, WindowBits::MAX);
    let (mut client, mut server) =
        common::pair_with(params, &DeflateConfig::default(), Config::default());
    let json = json_like(9, 30_000);
    let (first, rest) = json.as_bytes().split_at(10_000);
    let rest = rest.to_vec();
    server.send_fragment(DataKind::Text, first, false).unwrap();
    // The rest of the message is compressed on another thread, whose pool is empty: the
    // message's compressor travels with the connection.
    let mut server = std::thread::spawn(move || {
        server.send_fragment(DataKind::Text, &rest, true).unwrap();
        server.send_text(&json_like(10, 2000)).unwrap();
        server
    })
    .join()
    .unwrap();
    let wire = transfer(&mut server, &mut client);
    let got = messages(&mut client);
    assert_eq!(
        got,
        vec![Message::text(json), Message::text(json_like(10, 2000))]
    );
    let frames = parse_frames(&wire);
    each_message_stands_alone(&frames, &got);
}

#[test]
fn every_memory_level_writes_streams_an_independent_inflater_reads() {
    let sent = traffic(42);
    for level in [0, 1, 6, 9] {
        for mem_level in 0..=9 {
            let mut config = DeflateConfig::default();
            config.level = level;
            config.mem_level = mem_level;
            for takeover in [false, true] {
                let params = DeflateParams::new(!takeover, !takeover, bits(15), bits(15));
                let (mut client, mut server) =
                    common::pair_with(params, &config, Config::default());
                let frames = send_and_check(&mut server, &mut client, &sent);
                let decoded = Reference::default()
                    .inflate(&compressed_stream(&frames))
                    .unwrap_or_else(|err| panic!("level {level}, memory {mem_level}: {err}"));
                let expected: Vec<u8> = sent
                    .iter()
                    .flat_map(|m| m.clone().into_data().to_vec())
                    .collect();
                assert!(
                    decoded == expected,
                    "level {level}, memory level {mem_level}"
                );
            }
        }
    }
}
