//! The client's HTTP/1.1 response reader (RFC 9112 §2–§6, RFC 9110 §15: interim 1xx
//! responses, a refusal's body by Content-Length, chunked or until close) and the handshake
//! checks behind it (RFC 6455 §4.2.2) fed arbitrary bytes in arbitrary chunks.
//!
//! Invariants: no panic; the outcome does not depend on the split; the bytes buffered before
//! an outcome stay within the limits (interim responses × head limit + body limit); the heap
//! stays within a small multiple of those limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wintergreen_handshake::ClientRequest;
use wintergreen_http1::{ClientHandshake, Limits};

// Interim responses × the head limit, the refusal body's limit, each several times over, the
// input twice, and slack.
const BUDGET: usize = 4 * 9 * (16 << 10) + 4 * (64 << 10) + 4 * (4 << 10) + (128 << 10);

wintergreen_fuzz::budget!(BUDGET);

#[derive(Debug, PartialEq)]
enum Outcome {
    Pending,
    Accepted,
    Failed(String),
}

fn run(pieces: &[&[u8]]) -> Outcome {
    let limits = Limits::default();
    let Ok(request) = ClientRequest::from_url("ws://fuzz.example/", http::HeaderMap::new()) else {
        return Outcome::Failed("request".into());
    };
    let Ok(mut client) = ClientHandshake::new(request, limits) else {
        return Outcome::Failed("request".into());
    };
    for piece in pieces {
        match client.receive(piece) {
            Ok(None) => {}
            Ok(Some(_accept)) => return Outcome::Accepted,
            // The kind of failure, not its text (which may quote how far the reader got).
            Err(e) => {
                return Outcome::Failed(
                    format!("{e:?}")
                        .chars()
                        .take_while(|c| c.is_alphanumeric())
                        .collect(),
                );
            }
        }
    }
    Outcome::Pending
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = wintergreen_fuzz::cuts_and_bytes(data);
    with_budget(|| {
        let whole = run(&[bytes]);
        let pieces = wintergreen_fuzz::split_at_cuts(bytes, &cuts);
        let split = run(&pieces);
        if split != Outcome::Pending && whole != Outcome::Pending {
            assert_eq!(whole, split, "the split of the input changed the outcome");
        }
    });
});
