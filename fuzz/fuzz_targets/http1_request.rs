//! The server's HTTP/1.1 request reader and the handshake rules behind it (RFC 9112 §2–§5,
//! RFC 6455 §4.2.1) fed arbitrary bytes in arbitrary chunks.
//!
//! Invariants: no panic; the decision (accept, or reject with which status) does not depend on
//! how the bytes were split; a decision comes no later than the head limit allows (a server
//! never buffers more than `max_head_bytes` waiting); a rejection's bytes are bounded; the heap
//! stays within a small multiple of the head limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wintergreen_http1::{AcceptPolicy, Limits, ServerDecision, ServerHandshake};

// The head limit (16 KiB) several times over (the reader's buffer, the parsed request, a
// rejection), the input twice (two runs), and slack.
const BUDGET: usize = 8 * (16 << 10) + 4 * (4 << 10) + (128 << 10);

wintergreen_fuzz::budget!(BUDGET);

/// What the server decided, reduced to what must not depend on the split.
#[derive(Debug, PartialEq)]
enum Outcome {
    Pending,
    Accepted { leftover: Vec<u8> },
    Rejected { status: u16, response_len: usize },
    Failed,
}

fn run(pieces: &[&[u8]]) -> Outcome {
    let limits = Limits::default();
    let mut server = ServerHandshake::new(AcceptPolicy::default(), limits);
    let mut fed = 0usize;
    for (i, piece) in pieces.iter().enumerate() {
        fed += piece.len();
        match server.receive(piece) {
            Ok(None) => {
                // Still reading the head: it cannot be longer than the limit allows (a few
                // bytes of slack for the line that crosses it).
                assert!(
                    fed <= limits.max_head_bytes + 4096,
                    "{fed} bytes buffered without a decision (limit {})",
                    limits.max_head_bytes
                );
            }
            Ok(Some(ServerDecision::Accept(accept))) => {
                // What came after the head is the client's first frames; the rest of this
                // piece and later pieces belong to the WebSocket, not to the handshake.
                let mut leftover = accept.leftover.to_vec();
                for later in pieces.iter().skip(i + 1) {
                    leftover.extend_from_slice(later);
                }
                return Outcome::Accepted { leftover };
            }
            Ok(Some(ServerDecision::Reject(reject))) => {
                assert!(
                    reject.response_bytes.len() <= 4096,
                    "a {}-byte rejection",
                    reject.response_bytes.len()
                );
                return Outcome::Rejected {
                    status: reject.status.as_u16(),
                    response_len: reject.response_bytes.len(),
                };
            }
            Err(_) => return Outcome::Failed,
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
        // A split can only make the server wait for more where the whole input already
        // decided; it must never change a decision it reaches.
        if split != Outcome::Pending && whole != Outcome::Pending {
            assert_eq!(whole, split, "the split of the input changed the decision");
        }
    });
});
