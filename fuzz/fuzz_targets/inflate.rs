//! permessage-deflate's receiving side (RFC 7692 §7.2.2) fed arbitrary compressed messages,
//! under every negotiated parameter set (window bits 8–15 each way, context takeover or not),
//! in both roles.
//!
//! Invariants: no panic; a message never inflates past the limit the caller passes (the
//! extension must stop with `MessageTooLarge`, not grow the buffer); the heap stays within
//! the limit plus the zlib state and the input.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wintergreen_codec::{Extension, ExtensionError, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

// zlib's inflate state and history (~80 KiB), twice the largest limit (64 KiB) for the
// output's growth, the input (≤ 4 KiB), per-thread pools, and slack.
const BUDGET: usize = (128 << 10) + 2 * (64 << 10) + (4 << 10) + (512 << 10);

wintergreen_fuzz::budget!(BUDGET);

#[derive(Debug, Arbitrary)]
struct Input {
    server_role: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_bits: u8,
    client_bits: u8,
    limit: u16,
    /// Each message is a list of frames; the last frame of each message has `fin` set.
    messages: Vec<Vec<Vec<u8>>>,
}

fn bits(b: u8) -> WindowBits {
    WindowBits::new(8 + b % 8).unwrap_or(WindowBits::MAX)
}

fuzz_target!(|input: Input| {
    let limit = usize::from(input.limit);
    with_budget(|| {
        let params = DeflateParams::new(
            input.server_no_context_takeover,
            input.client_no_context_takeover,
            bits(input.server_bits),
            bits(input.client_bits),
        );
        let role = if input.server_role {
            Role::Server
        } else {
            Role::Client
        };
        let mut deflate = Deflate::new(role, params, &DeflateConfig::default());
        'messages: for message in &input.messages {
            if !deflate.decode_start(Rsv::RSV1) {
                return;
            }
            let mut out = BytesMut::new();
            let last = message.len().saturating_sub(1);
            for (i, frame) in message.iter().enumerate() {
                let room = limit.saturating_sub(out.len());
                let before = out.len();
                match deflate.decode(frame, i == last, &mut out, room) {
                    Ok(()) => assert!(
                        out.len() - before <= room,
                        "inflated {} bytes past a limit of {room}",
                        out.len() - before
                    ),
                    // A failed message fails the connection: nothing more is fed.
                    Err(
                        ExtensionError::MessageTooLarge { .. } | ExtensionError::InvalidData(_),
                    ) => {
                        break 'messages;
                    }
                    Err(other) => panic!("unexpected inflate error: {other:?}"),
                }
            }
            if message.is_empty() {
                // A message has at least one frame; feed an empty final frame.
                let _ = deflate.decode(&[], true, &mut out, limit);
            }
        }
    });
});
