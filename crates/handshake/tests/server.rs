//! The server's side of the opening handshake (RFC 6455 §4.2).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers

mod common;

use std::sync::Arc;

use common::Dummy;
use http::{HeaderName, HeaderValue, StatusCode};
use wintergreen_codec::ExtensionParams;
use wintergreen_handshake::{
    AcceptPolicy, ClientHandshake, ClientRequest, HandshakeError, HandshakeLimits, Rejection,
    ServerAccept, ServerDecision, ServerHandshake, ServerReject,
};

const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The RFC's example request, with `extra` header lines.
fn request(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

fn decide(policy: AcceptPolicy, bytes: &[u8]) -> ServerDecision {
    let mut server = ServerHandshake::new(policy, HandshakeLimits::default());
    server.receive(bytes).unwrap().expect("a decision")
}

fn accepted(policy: AcceptPolicy, bytes: &[u8]) -> ServerAccept {
    match decide(policy, bytes) {
        ServerDecision::Accept(accepted) => accepted,
        ServerDecision::Reject(rejected) => panic!("rejected: {}", rejected.error),
    }
}

fn rejected(policy: AcceptPolicy, bytes: &[u8]) -> ServerReject {
    match decide(policy, bytes) {
        ServerDecision::Reject(rejected) => rejected,
        ServerDecision::Accept(_) => panic!("accepted"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn valid_request_gets_the_rfc_101() {
    let accepted = accepted(
        AcceptPolicy::new(),
        &request("Origin: http://example.com\r\n"),
    );
    assert_eq!(
        text(&accepted.response_bytes),
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {RFC_ACCEPT}\r\n\r\n"
        )
    );
    assert_eq!(accepted.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(accepted.request.method(), "GET");
    assert_eq!(accepted.request.uri(), "/chat");
    assert_eq!(accepted.request.headers()["origin"], "http://example.com");
    assert!(accepted.subprotocol.is_none());
    assert!(accepted.extension.is_none());
}

#[test]
fn byte_at_a_time_request_gives_the_same_decision() {
    let bytes = request("Sec-WebSocket-Protocol: chat\r\n");
    let whole = accepted(AcceptPolicy::new().subprotocols(["chat"]), &bytes);
    let mut server = ServerHandshake::new(
        AcceptPolicy::new().subprotocols(["chat"]),
        HandshakeLimits::default(),
    );
    let mut decision = None;
    for (i, byte) in bytes.iter().enumerate() {
        if let Some(d) = server.receive(std::slice::from_ref(byte)).unwrap() {
            assert_eq!(i, bytes.len() - 1);
            decision = Some(d);
        }
    }
    let ServerDecision::Accept(split) = decision.unwrap() else {
        panic!("rejected")
    };
    assert_eq!(split.response_bytes, whole.response_bytes);
    assert_eq!(split.subprotocol.as_deref(), Some("chat"));
}

#[test]
fn version_8_gets_426_with_version_13() {
    let bytes = text(&request("")).replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::UPGRADE_REQUIRED);
    assert!(matches!(rejected.error, HandshakeError::UnsupportedVersion(ref v) if v == "8"));
    let response = text(&rejected.response_bytes);
    assert!(
        response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{response}"
    );
    assert!(
        response.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{response}"
    );
    assert!(response.contains("\r\nConnection: close\r\n"), "{response}");
}

#[test]
fn missing_version_gets_400() {
    let bytes = text(&request("")).replace("Sec-WebSocket-Version: 13\r\n", "");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(rejected.error, HandshakeError::MissingVersion));
}

#[test]
fn missing_key_gets_400() {
    let bytes = text(&request("")).replace(&format!("Sec-WebSocket-Key: {RFC_KEY}\r\n"), "");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(rejected.error, HandshakeError::MissingKey));
    assert!(rejected.request.is_some());
}

#[test]
fn key_of_wrong_length_gets_400() {
    for key in [
        "dGhlIHNhbXBsZSBub25j",
        "dGhlIHNhbXBsZSBub25jZWE=",
        "not base64 at all!!!!!!!",
    ] {
        let bytes = text(&request("")).replace(RFC_KEY, key);
        let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
        assert!(
            matches!(rejected.error, HandshakeError::InvalidKey),
            "{key}"
        );
    }
}

#[test]
fn repeated_key_gets_400() {
    let rejected = rejected(
        AcceptPolicy::new(),
        &request(&format!("Sec-WebSocket-Key: {RFC_KEY}\r\n")),
    );
    assert!(matches!(rejected.error, HandshakeError::InvalidKey));
}

#[test]
fn post_gets_400() {
    let bytes = text(&request("")).replace("GET ", "POST ");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(rejected.error, HandshakeError::InvalidMethod(ref m) if m == "POST"));
}

#[test]
fn http_1_0_gets_400() {
    let bytes = text(&request("")).replace("HTTP/1.1", "HTTP/1.0");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert!(matches!(
        rejected.error,
        HandshakeError::UnsupportedHttpVersion
    ));
}

#[test]
fn missing_or_repeated_host_gets_400() {
    let bytes = text(&request("")).replace("Host: server.example.com\r\n", "");
    assert!(matches!(
        rejected(AcceptPolicy::new(), bytes.as_bytes()).error,
        HandshakeError::MissingHost
    ));
    let rejected = rejected(AcceptPolicy::new(), &request("Host: other\r\n"));
    assert!(matches!(rejected.error, HandshakeError::MissingHost));
}

#[test]
fn missing_upgrade_or_connection_tokens_get_400() {
    let bytes = text(&request("")).replace("Upgrade: websocket", "Upgrade: h2c");
    assert!(matches!(
        rejected(AcceptPolicy::new(), bytes.as_bytes()).error,
        HandshakeError::MissingUpgrade
    ));
    let bytes = text(&request("")).replace("Connection: Upgrade", "Connection: keep-alive");
    assert!(matches!(
        rejected(AcceptPolicy::new(), bytes.as_bytes()).error,
        HandshakeError::MissingConnectionUpgrade
    ));
}

#[test]
fn oddly_cased_names_and_token_lists_are_accepted() {
    let bytes = format!(
        "GET / HTTP/1.1\r\nhOST: h\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
         SEC-WEBSOCKET-KEY: {RFC_KEY}\r\nsec-websocket-version: 13\r\n\r\n"
    );
    accepted(AcceptPolicy::new(), bytes.as_bytes());
}

#[test]
fn request_with_a_body_gets_400() {
    let rejected = rejected(AcceptPolicy::new(), &request("Content-Length: 5\r\n"));
    assert!(matches!(rejected.error, HandshakeError::UnexpectedBody));
    accepted(AcceptPolicy::new(), &request("Content-Length: 0\r\n"));
}

#[test]
fn malformed_request_gets_400_without_a_request() {
    let rejected = rejected(AcceptPolicy::new(), b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(rejected.request.is_none());
    assert!(matches!(rejected.error, HandshakeError::MalformedHttp(_)));
}

#[test]
fn rejection_response_has_length_close_and_the_reason() {
    let bytes = text(&request("")).replace("GET ", "PUT ");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    let response = text(&rejected.response_bytes);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
    assert!(head.contains("\r\nConnection: close"));
    assert!(head.contains("\r\nContent-Type: text/plain; charset=utf-8"));
    assert_eq!(body, "the request method is PUT, not GET\n");
}

#[test]
fn subprotocol_follows_server_preference_order() {
    let policy = AcceptPolicy::new().subprotocols(["b", "a"]);
    let accepted = accepted(policy, &request("Sec-WebSocket-Protocol: a, b\r\n"));
    assert_eq!(accepted.subprotocol.as_deref(), Some("b"));
    assert!(text(&accepted.response_bytes).contains("\r\nSec-WebSocket-Protocol: b\r\n"));
}

#[test]
fn subprotocol_offers_span_repeated_lines() {
    let policy = AcceptPolicy::new().subprotocols(["b"]);
    let accepted = accepted(
        policy,
        &request("Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n"),
    );
    assert_eq!(accepted.subprotocol.as_deref(), Some("b"));
}

#[test]
fn no_common_subprotocol_means_none_and_no_header() {
    let policy = AcceptPolicy::new().subprotocols(["x"]);
    let accepted = accepted(policy, &request("Sec-WebSocket-Protocol: a, b\r\n"));
    assert!(accepted.subprotocol.is_none());
    assert!(!text(&accepted.response_bytes).contains("Sec-WebSocket-Protocol"));
}

#[test]
fn subprotocol_closure_sees_the_offers_in_client_order() {
    let policy = AcceptPolicy::new().select_subprotocol(|offered, request| {
        assert_eq!(offered, ["a", "b", "c"]);
        assert_eq!(request.uri(), "/chat");
        offered.last().cloned()
    });
    let accepted = accepted(policy, &request("Sec-WebSocket-Protocol: a, b,c\r\n"));
    assert_eq!(accepted.subprotocol.as_deref(), Some("c"));
}

#[test]
fn subprotocol_closure_choosing_an_unoffered_protocol_is_a_500() {
    let policy = AcceptPolicy::new().select_subprotocol(|_, _| Some("nope".into()));
    let rejected = rejected(policy, &request("Sec-WebSocket-Protocol: a\r\n"));
    assert_eq!(rejected.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(matches!(
        rejected.error,
        HandshakeError::ServerNegotiation(_)
    ));
}

#[test]
fn policy_rejects_with_its_status_headers_and_body() {
    let policy = AcceptPolicy::new().check(|request| match request.headers().get("origin") {
        Some(origin) if origin == "https://good.example" => Ok(()),
        _ => Err(Rejection::new(StatusCode::FORBIDDEN)
            .with_header(
                HeaderName::from_static("x-why"),
                HeaderValue::from_static("origin"),
            )
            .with_header(
                http::header::CONTENT_LENGTH,
                HeaderValue::from_static("999"),
            )
            .with_body("bad origin")),
    });
    accepted(policy.clone(), &request("Origin: https://good.example\r\n"));
    let rejected = rejected(policy, &request("Origin: https://evil.example\r\n"));
    assert_eq!(rejected.status, StatusCode::FORBIDDEN);
    assert!(
        matches!(&rejected.error, HandshakeError::Rejected(r) if r.status() == StatusCode::FORBIDDEN)
    );
    assert_eq!(
        text(&rejected.response_bytes),
        "HTTP/1.1 403 Forbidden\r\nX-Why: origin\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nbad origin"
    );
}

#[test]
fn policy_check_runs_after_the_rfc_checks() {
    let policy = AcceptPolicy::new().check(|_| Err(Rejection::new(StatusCode::UNAUTHORIZED)));
    let bytes = text(&request("")).replace("GET ", "POST ");
    assert!(matches!(
        rejected(policy, bytes.as_bytes()).error,
        HandshakeError::InvalidMethod(_)
    ));
}

#[test]
fn extension_factory_gets_all_its_offers_in_client_order_and_its_answer_is_written() {
    let factory = Dummy::new("x-ext").arc();
    let other = Dummy::new("x-other").arc();
    let policy = AcceptPolicy::new()
        .extension(factory.clone())
        .extension(other.clone());
    let accepted = accepted(
        policy,
        &request(
            "Sec-WebSocket-Extensions: x-ext; a=1, x-other\r\nSec-WebSocket-Extensions: X-EXT; b=\"2\"\r\n",
        ),
    );
    assert_eq!(
        *factory.seen_offers.lock().unwrap(),
        [vec![
            ExtensionParams::new("x-ext").param("a", Some("1".into())),
            ExtensionParams::new("X-EXT").param("b", Some("2".into())),
        ]]
    );
    // The first factory to accept wins; a connection runs one extension.
    assert!(other.seen_offers.lock().unwrap().is_empty());
    assert_eq!(accepted.extension.unwrap().name(), "x-ext");
    assert!(
        text(&accepted.response_bytes).contains("\r\nSec-WebSocket-Extensions: x-ext; a=1\r\n")
    );
}

#[test]
fn declining_factory_leaves_the_next_one_a_chance() {
    let declining = Dummy::new("x-a").refusing().arc();
    let accepting = Dummy::new("x-b").arc();
    let policy = AcceptPolicy::new()
        .extension(declining.clone())
        .extension(accepting);
    let accepted = accepted(
        policy,
        &request("Sec-WebSocket-Extensions: x-a, x-b; q\r\n"),
    );
    assert_eq!(declining.seen_offers.lock().unwrap().len(), 1);
    assert_eq!(accepted.extension.unwrap().name(), "x-b");
    assert!(text(&accepted.response_bytes).contains("\r\nSec-WebSocket-Extensions: x-b; q\r\n"));
}

#[test]
fn unsupported_extensions_are_ignored() {
    let accepted = accepted(
        AcceptPolicy::new(),
        &request("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
    );
    assert!(accepted.extension.is_none());
    assert!(!text(&accepted.response_bytes).contains("Sec-WebSocket-Extensions"));
}

#[test]
fn malformed_extension_offer_gets_400() {
    let policy = AcceptPolicy::new().extension(Dummy::new("x").arc());
    let rejected = rejected(policy, &request("Sec-WebSocket-Extensions: x; a=\"\r\n"));
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        rejected.error,
        HandshakeError::InvalidExtensionHeader(_)
    ));
}

#[test]
fn policy_response_headers_are_added_but_reserved_ones_ignored() {
    let policy = AcceptPolicy::new()
        .response_header(
            HeaderName::from_static("x-server"),
            HeaderValue::from_static("wintergreen"),
        )
        .response_header(
            http::header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_static("forged"),
        );
    let response = text(&accepted(policy, &request("")).response_bytes);
    assert!(
        response.ends_with("\r\nX-Server: wintergreen\r\n\r\n"),
        "{response}"
    );
    assert!(!response.contains("forged"));
}

#[test]
fn header_limits_get_431() {
    let mut limits = HandshakeLimits::default();
    limits.max_headers = 6;
    let mut server = ServerHandshake::new(AcceptPolicy::new(), limits);
    let Some(ServerDecision::Reject(rejected)) =
        server.receive(&request("X-A: 1\r\nX-B: 2\r\n")).unwrap()
    else {
        panic!("not rejected");
    };
    assert_eq!(rejected.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(matches!(
        rejected.error,
        HandshakeError::TooManyHeaders { limit: 6 }
    ));

    let mut limits = HandshakeLimits::default();
    limits.max_header_bytes = 100;
    let mut server = ServerHandshake::new(AcceptPolicy::new(), limits);
    let Some(ServerDecision::Reject(rejected)) = server.receive(&request("")).unwrap() else {
        panic!("not rejected");
    };
    assert!(matches!(
        rejected.error,
        HandshakeError::HeadersTooLarge { limit: 100 }
    ));
    assert!(matches!(
        server.receive(b"x"),
        Err(HandshakeError::Finished)
    ));
}

#[test]
fn bytes_after_the_request_are_left_over() {
    let mut bytes = request("");
    bytes.extend_from_slice(b"\x81\x80abcd");
    assert_eq!(
        accepted(AcceptPolicy::new(), &bytes).leftover,
        &b"\x81\x80abcd"[..]
    );
}

#[test]
fn eof_before_any_byte_is_clean_and_mid_request_is_not() {
    let mut server = ServerHandshake::new(AcceptPolicy::new(), HandshakeLimits::default());
    assert!(server.receive_eof().is_ok());
    let mut server = ServerHandshake::new(AcceptPolicy::new(), HandshakeLimits::default());
    assert!(server.receive(b"GET / HT").unwrap().is_none());
    assert!(matches!(
        server.receive_eof(),
        Err(HandshakeError::UnexpectedEof)
    ));
}

#[test]
fn client_and_server_agree_end_to_end() {
    let client_factory: Arc<Dummy> = Dummy::new("x-ext")
        .offering(vec![
            ExtensionParams::new("x-ext").param("v", Some("two words".into())),
        ])
        .arc();
    let request = ClientRequest::from_url("ws://localhost:9001/path?q=1", http::HeaderMap::new())
        .unwrap()
        .subprotocols(["v2", "v1"])
        .extension(client_factory);
    let mut client = ClientHandshake::new(request).unwrap();
    let policy = AcceptPolicy::new()
        .subprotocols(["v1", "v2"])
        .extension(Dummy::new("x-ext").arc());
    let accepted = accepted(policy, client.request_bytes());
    assert_eq!(accepted.request.uri(), "/path?q=1");
    assert_eq!(accepted.request.headers()["host"], "localhost:9001");
    assert_eq!(accepted.subprotocol.as_deref(), Some("v1"));

    let done = client.receive(&accepted.response_bytes).unwrap().unwrap();
    assert_eq!(done.subprotocol.as_deref(), Some("v1"));
    assert_eq!(done.extension.unwrap().name(), "x-ext");
    assert_eq!(
        done.response.headers()["sec-websocket-extensions"],
        "x-ext; v=\"two words\""
    );
}
