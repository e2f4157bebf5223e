//! What a connection holds, measured with a counting allocator: the figures the crate
//! documentation gives for each mode (takeover at the defaults, zlib's usual memory level,
//! no context takeover, the shared server mode), as bounds. The allocator counts per thread.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests
#![allow(unsafe_code, clippy::print_stdout)]

use bytes::BytesMut;
use wintergreen_codec::{Extension, ExtensionFactory, OpCode, Role, Rsv};
use wintergreen_deflate::{
    Deflate, DeflateConfig, DeflateFactory, DeflateParams, ServerPolicy, WindowBits,
    pooled_on_this_thread, release_pooled_on_this_thread,
};

#[path = "common/counting.rs"]
mod counting;

use counting::live;

const KIB: f64 = 1024.0;

fn bits(n: u8) -> WindowBits {
    WindowBits::new(n).unwrap()
}

/// About 1 KiB of JSON, different for each `i`.
fn json(i: usize) -> Vec<u8> {
    let mut out = String::from(r#"{"items":["#);
    let mut n = 0;
    while out.len() < 1000 {
        out.push_str(&format!(
            r#"{{"id":{},"name":"user{}","score":{}}},"#,
            i * 100 + n,
            (i * 7 + n) % 13,
            (i * 31 + n * 17) % 1000
        ));
        n += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

/// Sends one message from `sender` to `receiver`; the buffers are freed before returning.
fn send(sender: &mut dyn Extension, receiver: &mut dyn Extension, message: &[u8]) {
    let rsv = sender.encode_start(OpCode::Text, Some(message.len()));
    assert_eq!(rsv, Rsv::RSV1);
    let mut wire = BytesMut::new();
    sender.encode(message, true, &mut wire).unwrap();
    assert!(receiver.decode_start(rsv));
    let mut out = BytesMut::new();
    receiver.decode(&wire, true, &mut out, usize::MAX).unwrap();
    assert_eq!(&out[..], message);
}

/// Bytes a sender and a receiver hold after `messages` messages one way, with `params` and
/// `config`: (sender, receiver).
fn held_after(params: DeflateParams, config: &DeflateConfig, messages: usize) -> (isize, isize) {
    let before = live();
    let mut sender = Deflate::new(Role::Server, params, config);
    let mut receiver = Deflate::new(Role::Client, params, config);
    let start = live();
    let mut sender_held = 0;
    for i in 0..messages {
        // Measure the sender alone: the receiver's share is what stays after the message
        // minus what the sender took.
        let at = live();
        let rsv = sender.encode_start(OpCode::Text, None);
        let message = json(i);
        let mut wire = BytesMut::new();
        sender.encode(&message, true, &mut wire).unwrap();
        let sender_grew = live() - at - wire.capacity() as isize - message.capacity() as isize;
        sender_held += sender_grew;
        assert!(receiver.decode_start(rsv));
        let mut out = BytesMut::new();
        receiver.decode(&wire, true, &mut out, usize::MAX).unwrap();
        assert_eq!(&out[..], &message[..]);
    }
    let total = live() - start;
    drop((sender, receiver));
    assert_eq!(live(), before, "everything is freed with the connection");
    (sender_held, total - sender_held)
}

fn takeover(window: u8) -> DeflateParams {
    DeflateParams::new(false, false, bits(window), bits(window))
}

#[test]
fn with_takeover_the_compressor_holds_4_bytes_per_window_byte_plus_132_kib_at_the_defaults() {
    release_pooled_on_this_thread();
    let config = DeflateConfig::default();
    let (base, _) = held_after(takeover(9), &config, 1);
    for window in 9..=15u8 {
        let (compressor, _) = held_after(takeover(window), &config, 1);
        println!(
            "default, {window} bits: compressor {:.1} KiB",
            compressor as f64 / KIB
        );
        // The doubled window and its hash chains grow with the window; nothing else does.
        assert_eq!(
            compressor - base,
            4 * ((1 << window) - 512),
            "{window} bits"
        );
    }
    // zlib-rs's 128 KiB hash table, the 2 KiB window pair at 9 bits, its state, and symbol
    // buffers of 0.9 KiB (memory level 1, chosen for level 1).
    assert!(base <= 135 * 1024, "{base} bytes at 9 bits");
    let (at_15, _) = held_after(takeover(15), &config, 1);
    assert!(at_15 <= 261 * 1024, "{at_15} bytes at 15 bits");
}

#[test]
fn zlibs_usual_memory_level_8_costs_111_kib_more_per_compressor_than_the_default() {
    release_pooled_on_this_thread();
    let mut usual = DeflateConfig::default();
    usual.mem_level = 8;
    let (default, _) = held_after(takeover(15), &DeflateConfig::default(), 1);
    let (at_8, _) = held_after(takeover(15), &usual, 1);
    println!(
        "15 bits: memory level 8 {:.1} KiB, default {:.1} KiB",
        at_8 as f64 / KIB,
        default as f64 / KIB
    );
    // Symbol buffers of 7 × 2^(level+6) bytes: 112 KiB at 8, 0.9 KiB at 1.
    assert_eq!(at_8 - default, 7 * ((1 << 14) - (1 << 7)));
    // At level 6 the default is memory level 6: 28 KiB of buffers.
    let mut level_6 = DeflateConfig::default();
    level_6.level = 6;
    let (at_6, _) = held_after(takeover(15), &level_6, 1);
    assert_eq!(at_6 - default, 7 * ((1 << 12) - (1 << 7)));
}

#[test]
fn with_takeover_the_receiver_holds_46_kib_and_at_most_one_window_of_history() {
    release_pooled_on_this_thread();
    let config = DeflateConfig::default();
    for window in [9u8, 12, 15] {
        // One message: the history holds what it inflated (about 1 KiB, less at 9 bits).
        let (_, one) = held_after(takeover(window), &config, 1);
        // Sixty-four messages, 64 KiB: the history is full, one window.
        let (_, many) = held_after(takeover(window), &config, 64);
        println!(
            "{window} bits: receiver after 1 message {:.1} KiB, after 64 {:.1} KiB",
            one as f64 / KIB,
            many as f64 / KIB
        );
        assert!(one <= 48 * 1024, "{window} bits: {one} bytes");
        assert!(
            many - one <= (1 << window),
            "{window} bits: {many} against {one} bytes"
        );
        assert!(many <= 47 * 1024 + (1 << window), "{window} bits: {many}");
    }
}

#[test]
fn without_context_takeover_an_idle_connection_holds_no_deflate_state() {
    release_pooled_on_this_thread();
    let config = DeflateConfig::default();
    let params = DeflateParams::new(true, true, WindowBits::MAX, WindowBits::MAX);
    let before = live();
    let mut connections: Vec<(Deflate, Deflate)> = (0..200)
        .map(|_| {
            (
                Deflate::new(Role::Client, params, &config),
                Deflate::new(Role::Server, params, &config),
            )
        })
        .collect();
    let empty = live() - before;
    for (i, (client, server)) in connections.iter_mut().enumerate() {
        send(client, server, &json(i));
        send(server, client, &json(i + 1));
        assert_eq!(client.holds_state(), (false, false));
        assert_eq!(server.holds_state(), (false, false));
    }
    // The states all went back to this thread's pool: one compressor and one inflater serve
    // all 200 connections.
    assert_eq!(pooled_on_this_thread(), (1, 1));
    let pool_and_connections = live() - before;
    release_pooled_on_this_thread();
    let connections_only = live() - before;
    println!(
        "no takeover: {:.3} KiB per idle connection pair, pool {:.1} KiB",
        (connections_only - empty) as f64 / 200.0 / KIB,
        (pool_and_connections - connections_only) as f64 / KIB
    );
    assert_eq!(connections_only, empty, "no bytes held after the messages");
    assert!(pool_and_connections - connections_only <= 310 * 1024);
    drop(connections);
}

#[test]
fn the_shared_server_mode_holds_about_0_kib_per_idle_connection() {
    release_pooled_on_this_thread();
    let mut server_config = DeflateConfig::default();
    server_config.server = ServerPolicy::shared();
    let server = DeflateFactory::new(server_config);
    let client = DeflateFactory::client_default();
    let offers = client.offers();
    let before = live();
    let mut servers: Vec<Box<dyn Extension>> = (0..1000)
        .map(|_| server.accept_offers(&offers).unwrap().unwrap().1)
        .collect();
    let fresh = live() - before;
    // Each server connection receives one message and sends one, with a client of its own
    // that is freed before the count.
    for (i, ext) in servers.iter_mut().enumerate() {
        let (answer, _) = server.accept_offers(&offers).unwrap().unwrap();
        let mut peer = client.accept_response(&answer).unwrap();
        send(peer.as_mut(), ext.as_mut(), &json(i));
        send(ext.as_mut(), peer.as_mut(), &json(i + 1));
    }
    let (compressors, inflaters) = pooled_on_this_thread();
    assert!(
        compressors <= 1 && inflaters <= 1,
        "{compressors}, {inflaters}"
    );
    let with_pool = live() - before;
    release_pooled_on_this_thread();
    let idle = live() - before;
    println!(
        "shared mode: {:.3} KiB per idle server connection ({} bytes fresh, {} after a message each way), pool {:.1} KiB",
        idle as f64 / 1000.0 / KIB,
        fresh / 1000,
        idle / 1000,
        (with_pool - idle) as f64 / KIB
    );
    // The boxed extension itself, and nothing that grows with traffic.
    assert_eq!(idle, fresh, "no deflate state held after the messages");
    assert!(idle / 1000 <= 128, "{} bytes per connection", idle / 1000);
    drop(servers);
}
