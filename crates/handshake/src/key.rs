//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §4.1, §4.2.2).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// The GUID a server appends to the client's key before hashing (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The length of a valid `Sec-WebSocket-Key` value: base64 of 16 bytes.
const KEY_LEN: usize = 24;

/// A fresh `Sec-WebSocket-Key`: 16 random bytes from the thread's CSPRNG, base64-encoded
/// (RFC 6455 §4.1: "randomly selected 16-byte value ... base64-encoded").
pub fn generate_key() -> String {
    let nonce: [u8; 16] = rand::random();
    STANDARD.encode(nonce)
}

/// The `Sec-WebSocket-Accept` value for a key: `base64(SHA-1(key + GUID))`.
///
/// ```
/// assert_eq!(
///     wintergreen_handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// Whether a `Sec-WebSocket-Key` value is the base64 encoding of exactly 16 bytes
/// (RFC 6455 §4.2.1 item 5). Surrounding whitespace is not allowed here: trim first.
pub fn is_valid_key(key: &[u8]) -> bool {
    if key.len() != KEY_LEN {
        return false;
    }
    let mut decoded = [0u8; 18];
    matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_example_key_gives_example_accept() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_valid_and_fresh() {
        let a = generate_key();
        let b = generate_key();
        assert!(is_valid_key(a.as_bytes()));
        assert!(is_valid_key(b.as_bytes()));
        assert_ne!(a, b);
    }

    #[test]
    fn key_must_decode_to_exactly_16_bytes() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        // 15 bytes, 17 bytes, not base64, wrong padding.
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZWE="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ!!"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b""));
    }
}
