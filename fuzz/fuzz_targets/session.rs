//! A `Session` of either role (RFC 6455 §5–§7), optionally with permessage-deflate, driven by
//! an arbitrary sequence of calls: peer bytes, time passing, sends, pings, closes, output
//! consumed or not, end of input.
//!
//! Invariants, checked after every call:
//! - no panic, and `poll_timeout` is a pure read (asking twice gives the same answer);
//! - output the peer provokes stays bounded: pending output never exceeds what we queued
//!   ourselves plus `max_pending_output` plus one control frame and one close reply;
//! - a delivered message never exceeds `max_message_size`;
//! - once `Closed`, the session stays closed;
//! - the heap stays within a budget set by the configured limits, not by the input.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wintergreen_codec::{Config, Event, Message, Role, Session, State};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams};

// The receive buffer (frame limit + 128 KiB headroom, doubled by growth), a message being
// assembled (limit, twice), permessage-deflate both ways (~340 KiB), our own queued sends
// (≤ 4 × the 4 KiB input), the bounded peer-provoked output, and slack.
const BUDGET: usize = 2 * (2048 + (128 << 10)) + 2 * 4096 + (384 << 10) + (16 << 10) + (512 << 10);

wintergreen_fuzz::budget!(BUDGET);

/// Small limits, so the fuzzer reaches them.
const MAX_MESSAGE: usize = 4096;
const MAX_FRAME: usize = 2048;
const MAX_PENDING: usize = 1024;
/// The largest frame a control answer takes on the wire (125 B payload, 14 B header).
const CONTROL_FRAME: usize = 139;

#[derive(Debug, Arbitrary)]
enum Call {
    Receive(Vec<u8>),
    Advance(u16),
    SendText(String),
    SendBinary(Vec<u8>),
    Ping(Vec<u8>),
    Close(u16, String),
    Consume(u16),
    TakeAll,
    Eof,
}

#[derive(Debug, Arbitrary)]
struct Input {
    server: bool,
    deflate: bool,
    streaming: bool,
    keepalive: bool,
    calls: Vec<Call>,
}

fuzz_target!(|input: Input| {
    with_budget(|| run(input));
});

fn run(input: Input) {
    let role = if input.server {
        Role::Server
    } else {
        Role::Client
    };
    let mut config = Config::default();
    config.max_message_size = MAX_MESSAGE;
    config.max_frame_size = MAX_FRAME;
    config.max_pending_output = MAX_PENDING;
    config.streaming = input.streaming;
    config.mask_seed = Some(7);
    if input.keepalive {
        config.keepalive = Some(wintergreen_codec::KeepAlive::new(
            Duration::from_millis(50),
            Duration::from_millis(50),
        ));
        config.idle_timeout = Some(Duration::from_millis(500));
    }
    let mut session = Session::new(role, config);
    if input.deflate {
        let deflate = Deflate::new(role, DeflateParams::default(), &DeflateConfig::default());
        session = session.with_extension(Box::new(deflate));
    }
    let mut now = Instant::now();
    session.handle_timeout(now);
    // What we queued ourselves and have not consumed yet (an upper bound: compression only
    // shrinks it, framing adds at most 14 bytes a frame).
    let mut ours: usize = 0;
    let mut was_closed = false;
    for call in input.calls {
        match call {
            Call::Receive(bytes) => session.receive(now, &bytes),
            Call::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms));
                session.handle_timeout(now);
            }
            Call::SendText(text) => {
                if session.send_text(&text).is_ok() {
                    ours += text.len() + 14 * (1 + text.len() / MAX_FRAME.max(1));
                }
            }
            Call::SendBinary(data) => {
                if session.send_binary(&data).is_ok() {
                    ours += data.len() + 14 * (1 + data.len() / MAX_FRAME.max(1));
                }
            }
            Call::Ping(payload) => {
                if session.send_ping(&payload).is_ok() {
                    ours += CONTROL_FRAME;
                }
            }
            Call::Close(code, reason) => {
                let code = wintergreen_codec::CloseCode::from(code);
                if session.close(now, code, &reason).is_ok() {
                    ours += CONTROL_FRAME;
                }
            }
            Call::Consume(n) => {
                let n = usize::from(n).min(session.pending_output().len());
                session.consume_output(n);
                ours = ours.saturating_sub(n);
            }
            Call::TakeAll => {
                drop(session.take_output());
                ours = 0;
            }
            Call::Eof => session.receive_eof(),
        }
        while let Some(event) = session.poll_event() {
            if let Ok(Event::Message(Message::Text(t))) = &event {
                assert!(
                    t.len() <= MAX_MESSAGE,
                    "a {}-byte text over the limit",
                    t.len()
                );
            }
            if let Ok(Event::Message(Message::Binary(b))) = &event {
                assert!(
                    b.len() <= MAX_MESSAGE,
                    "a {}-byte message over the limit",
                    b.len()
                );
            }
        }
        assert_eq!(
            session.poll_timeout(),
            session.poll_timeout(),
            "poll_timeout is a pure read"
        );
        let pending = session.pending_output().len();
        assert!(
            pending <= ours + MAX_PENDING + 2 * CONTROL_FRAME,
            "{pending} bytes pending, of which at most {ours} are ours (limit {MAX_PENDING})"
        );
        if was_closed {
            assert_eq!(session.state(), State::Closed, "a closed session reopened");
        }
        was_closed = session.state() == State::Closed;
    }
}
