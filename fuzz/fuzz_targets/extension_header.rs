//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1, RFC 7230 tokens and quoted
//! strings) fed arbitrary header values.
//!
//! Invariants: parsing never panics; what parses writes back to a value that parses to the
//! same extensions (the writer and the parser agree); the heap stays proportional to the
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wintergreen_handshake::headers::{parse_extensions, write_extensions};

// Each parameter costs a `String` and a 48-byte `ExtensionParam` per ~2 input bytes, twice
// (parse, then re-parse of the written form), with `Vec` doubling: ~256 B per input byte of
// a 4 KiB input, plus slack.
const BUDGET: usize = 256 * (4 << 10) + (64 << 10);

wintergreen_fuzz::budget!(BUDGET);

fuzz_target!(|value: &[u8]| {
    // (parse, then re-parse of the written form), with `Vec` doubling: linear, ~128 B a byte.
    with_budget(|| {
        let Ok(parsed) = parse_extensions(value) else {
            return;
        };
        let Ok(written) = write_extensions(&parsed) else {
            return;
        };
        let again = parse_extensions(written.as_bytes())
            .unwrap_or_else(|e| panic!("our own header `{written}` does not parse: {e}"));
        assert_eq!(parsed, again, "write → parse changed the extensions");
    });
});
