//! Property tests: no bytes make the parsers panic, and splitting input changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers

use http::HeaderMap;
use proptest::prelude::*;
use wintergreen_codec::ExtensionParams;
use wintergreen_handshake::headers::{parse_extensions, write_extensions};
use wintergreen_handshake::{
    AcceptPolicy, ClientHandshake, ClientRequest, HandshakeLimits, ServerDecision, ServerHandshake,
    accept_key,
};

/// Cuts `bytes` at the given points (taken modulo its length), in order.
fn chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(bytes[last..p].to_vec());
        last = p;
    }
    out.push(bytes[last..].to_vec());
    out
}

fn client() -> ClientHandshake {
    let mut limits = HandshakeLimits::default();
    limits.max_header_bytes = 512;
    limits.max_headers = 8;
    limits.max_body_bytes = 64;
    ClientHandshake::new(
        ClientRequest::from_url("ws://h/", HeaderMap::new())
            .unwrap()
            .limits(limits),
    )
    .unwrap()
}

fn server() -> ServerHandshake {
    let mut limits = HandshakeLimits::default();
    limits.max_header_bytes = 512;
    limits.max_headers = 8;
    ServerHandshake::new(AcceptPolicy::new().subprotocols(["a", "b"]), limits)
}

/// Bytes that often look like an HTTP head.
fn heady() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"HTTP/1.1 101 OK\r\n".to_vec()),
        Just(b"HTTP/1.1 400 Bad\r\n".to_vec()),
        Just(b"GET / HTTP/1.1\r\n".to_vec()),
        Just(b"Upgrade: websocket\r\n".to_vec()),
        Just(b"Connection: upgrade\r\n".to_vec()),
        Just(b"Content-Length: 5\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Sec-WebSocket-Extensions: x; a=\"1\"\r\n".to_vec()),
        Just(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..24),
    ];
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.concat())
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}"
}

fn element() -> impl Strategy<Value = ExtensionParams> {
    let value = prop_oneof![
        Just(None),
        token().prop_map(Some),
        "[ -~\t]{0,8}".prop_map(Some)
    ];
    (token(), proptest::collection::vec((token(), value), 0..4)).prop_map(|(name, params)| {
        params
            .into_iter()
            .fold(ExtensionParams::new(name), |e, (n, v)| e.param(n, v))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_never_panics_on_arbitrary_bytes(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), heady()],
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut handshake = client();
        for chunk in chunks(&bytes, &cuts) {
            if !matches!(handshake.receive(&chunk), Ok(None)) {
                break;
            }
        }
        let _ = handshake.receive_eof();
    }

    #[test]
    fn server_never_panics_on_arbitrary_bytes(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), heady()],
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut handshake = server();
        for chunk in chunks(&bytes, &cuts) {
            match handshake.receive(&chunk) {
                Ok(None) => {}
                Ok(Some(ServerDecision::Reject(r))) => prop_assert!(!r.response_bytes.is_empty()),
                _ => break,
            }
        }
        let _ = handshake.receive_eof();
    }

    #[test]
    fn any_split_of_a_response_gives_the_same_result(
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        frames in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut handshake = ClientHandshake::new(
            ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap().subprotocols(["a"]),
        ).unwrap();
        let mut bytes = format!(
            "HTTP/1.1 101 \r\nupgrade: websocket\r\nConnection: x, Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: a\r\n\r\n",
            accept_key(handshake.key().as_bytes())
        ).into_bytes();
        let head_len = bytes.len();
        bytes.extend_from_slice(&frames);
        let mut fed = 0;
        let mut accepted = None;
        for chunk in chunks(&bytes, &cuts) {
            if let Some(done) = handshake.receive(&chunk).unwrap() {
                // Accepted in the chunk holding the head's last byte; the rest is left over.
                prop_assert!(fed < head_len && head_len <= fed + chunk.len());
                prop_assert_eq!(&done.leftover[..], &bytes[head_len..fed + chunk.len()]);
                prop_assert_eq!(done.subprotocol.as_deref(), Some("a"));
                accepted = Some(done);
                break;
            }
            fed += chunk.len();
        }
        prop_assert!(accepted.is_some());
    }

    #[test]
    fn extension_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_extensions(&bytes);
    }

    #[test]
    fn extension_header_round_trips(elements in proptest::collection::vec(element(), 1..4)) {
        let written = write_extensions(&elements).unwrap();
        prop_assert_eq!(parse_extensions(written.as_bytes()).unwrap(), elements);
    }
}
