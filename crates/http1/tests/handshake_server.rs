//! The server's side of the opening handshake (RFC 6455 §4.2).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

mod common;

use std::sync::Arc;

use common::Dummy;
use http::{HeaderName, HeaderValue, StatusCode};
use wintergreen_codec::ExtensionParams;
use wintergreen_handshake::{AcceptPolicy, ClientRequest, HandshakeError, Rejection};
use wintergreen_http1::{
    ClientHandshake, Error, Limits, ParseError, ServerAccept, ServerDecision, ServerHandshake,
    ServerReject,
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
    let mut server = ServerHandshake::new(policy, Limits::default());
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

/// The handshake rule a rejected request broke.
fn rule(err: &Error) -> &HandshakeError {
    err.as_handshake()
        .unwrap_or_else(|| panic!("expected a handshake error, got {err:?}"))
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
        Limits::default(),
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
    assert!(matches!(rule(&rejected.error), HandshakeError::UnsupportedVersion(v) if v == "8"));
    let response = text(&rejected.response_bytes);
    assert!(
        response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{response}"
    );
    assert!(
        response.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{response}"
    );
    // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to; §7.8: and lists the
    // `upgrade` connection option, in the one Connection line that also closes.
    assert!(
        response.contains("\r\nUpgrade: websocket\r\n"),
        "{response}"
    );
    assert!(
        response.contains("\r\nConnection: upgrade, close\r\n"),
        "{response}"
    );
    assert_eq!(response.matches("Connection:").count(), 1, "{response}");
}

#[test]
fn missing_version_gets_400() {
    let bytes = text(&request("")).replace("Sec-WebSocket-Version: 13\r\n", "");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        rule(&rejected.error),
        HandshakeError::MissingVersion
    ));
}

#[test]
fn missing_key_gets_400() {
    let bytes = text(&request("")).replace(&format!("Sec-WebSocket-Key: {RFC_KEY}\r\n"), "");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(matches!(rule(&rejected.error), HandshakeError::MissingKey));
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
            matches!(rule(&rejected.error), HandshakeError::InvalidKey),
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
    assert!(matches!(rule(&rejected.error), HandshakeError::InvalidKey));
}

#[test]
fn post_gets_405_allowing_get() {
    // RFC 9110 §15.5.6: 405 names the allowed methods in `Allow`.
    let bytes = text(&request("")).replace("GET ", "POST ");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(matches!(
        rule(&rejected.error),
        HandshakeError::InvalidMethod { method, expected } if method == "POST" && expected == "GET"
    ));
    assert_eq!(
        rule(&rejected.error).rejection().headers()[http::header::ALLOW],
        "GET"
    );
}

#[test]
fn http_1_0_gets_400() {
    let bytes = text(&request("")).replace("HTTP/1.1", "HTTP/1.0");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert!(matches!(
        rule(&rejected.error),
        HandshakeError::UnsupportedHttpVersion
    ));
}

#[test]
fn missing_or_repeated_host_gets_400() {
    let bytes = text(&request("")).replace("Host: server.example.com\r\n", "");
    assert!(matches!(
        rule(&rejected(AcceptPolicy::new(), bytes.as_bytes()).error),
        HandshakeError::MissingHost
    ));
    let rejected = rejected(AcceptPolicy::new(), &request("Host: other\r\n"));
    assert!(matches!(rule(&rejected.error), HandshakeError::MissingHost));
}

#[test]
fn missing_upgrade_or_connection_tokens_get_400() {
    let bytes = text(&request("")).replace("Upgrade: websocket", "Upgrade: h2c");
    assert!(matches!(
        rule(&rejected(AcceptPolicy::new(), bytes.as_bytes()).error),
        HandshakeError::MissingUpgrade
    ));
    let bytes = text(&request("")).replace("Connection: Upgrade", "Connection: keep-alive");
    assert!(matches!(
        rule(&rejected(AcceptPolicy::new(), bytes.as_bytes()).error),
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
    assert!(matches!(
        rule(&rejected.error),
        HandshakeError::UnexpectedBody
    ));
    accepted(AcceptPolicy::new(), &request("Content-Length: 0\r\n"));
}

#[test]
fn rfc6455_4_1_a_target_that_names_no_resource_gets_400() {
    for target in [
        "*",
        "server.example.com:443",
        "ftp://server.example.com/chat",
    ] {
        let bytes = text(&request("")).replace("GET /chat", &format!("GET {target}"));
        let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST, "{target}");
        assert!(
            matches!(rule(&rejected.error), HandshakeError::InvalidRequestTarget),
            "{target}: {}",
            rejected.error
        );
    }
    // RFC 9112 §3.2.2: a server accepts the absolute-form (ws:// too, leniently).
    for target in [
        "http://server.example.com/chat",
        "HTTPS://server.example.com/chat?x=1",
        "ws://server.example.com/chat",
        "http://server.example.com",
    ] {
        let bytes = text(&request("")).replace("GET /chat", &format!("GET {target}"));
        accepted(AcceptPolicy::new(), bytes.as_bytes());
    }
}

#[test]
fn malformed_request_gets_400_without_a_request() {
    let rejected = rejected(AcceptPolicy::new(), b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(rejected.request.is_none());
    assert!(matches!(rejected.error, Error::Malformed(_)));
}

#[test]
fn rejection_response_has_length_close_and_the_reason() {
    let bytes = text(&request("")).replace("GET ", "PUT ");
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    let response = text(&rejected.response_bytes);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(head.contains("\r\nAllow: GET"));
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
        rule(&rejected.error),
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
        matches!(rule(&rejected.error), HandshakeError::Rejected(r) if r.status() == StatusCode::FORBIDDEN)
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
        rule(&rejected(policy, bytes.as_bytes()).error),
        HandshakeError::InvalidMethod { .. }
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
        rule(&rejected.error),
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
    let mut limits = Limits::default();
    limits.max_headers = 6;
    let mut server = ServerHandshake::new(AcceptPolicy::new(), limits);
    let Some(ServerDecision::Reject(rejected)) =
        server.receive(&request("X-A: 1\r\nX-B: 2\r\n")).unwrap()
    else {
        panic!("not rejected");
    };
    assert_eq!(rejected.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(matches!(rejected.error, Error::TooManyHeaders { limit: 6 }));

    let mut limits = Limits::default();
    limits.max_head_bytes = 100;
    let mut server = ServerHandshake::new(AcceptPolicy::new(), limits);
    let Some(ServerDecision::Reject(rejected)) = server.receive(&request("")).unwrap() else {
        panic!("not rejected");
    };
    assert!(matches!(rejected.error, Error::HeadTooLarge { limit: 100 }));
    assert!(matches!(server.receive(b"x"), Err(Error::Finished)));
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
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    assert!(server.receive_eof().is_ok());
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    assert!(server.receive(b"GET / HT").unwrap().is_none());
    assert!(matches!(server.receive_eof(), Err(Error::UnexpectedEof)));
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
    let mut client = ClientHandshake::new(request, Limits::default()).unwrap();
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

// --- RFC 9112: the request read strictly, as a server ---

/// The kind of malformation a rejected request was refused for, after checking that it
/// got a 400 with `Connection: close`.
fn malformed(bytes: &[u8]) -> ParseError {
    let rejected = rejected(AcceptPolicy::new(), bytes);
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    let response = text(&rejected.response_bytes);
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );
    assert!(response.contains("\r\nConnection: close\r\n"), "{response}");
    match rejected.error {
        Error::Malformed(kind) => kind,
        other => panic!("expected a malformed request, got {other:?}"),
    }
}

#[test]
fn rfc9112_5_1_whitespace_between_field_name_and_colon_gets_400() {
    assert_eq!(
        malformed(&request("X-Spaced : 1\r\n")),
        ParseError::HeaderName
    );
    assert_eq!(
        malformed(&request("X-Tab\t: 1\r\n")),
        ParseError::HeaderName
    );
}

#[test]
fn rfc9112_5_2_a_folded_field_line_in_a_request_gets_400() {
    assert_eq!(
        malformed(&request("X-Folded: one\r\n two\r\n")),
        ParseError::HeaderName
    );
}

#[test]
fn rfc9112_2_2_whitespace_before_the_first_field_line_gets_400() {
    let bytes = text(&request("")).replace("HTTP/1.1\r\n", "HTTP/1.1\r\n X: 1\r\n");
    assert_eq!(malformed(bytes.as_bytes()), ParseError::HeaderName);
}

#[test]
fn rfc9112_2_2_a_bare_cr_gets_400() {
    let bytes = text(&request("")).replace("GET /chat HTTP/1.1\r\n", "GET /chat HTTP/1.1\r");
    assert_eq!(malformed(bytes.as_bytes()), ParseError::BareCr);
}

#[test]
fn rfc9112_2_2_empty_lines_before_the_request_line_are_ignored() {
    let mut bytes = b"\r\n\r\n\n".to_vec();
    bytes.extend(request(""));
    accepted(AcceptPolicy::new(), &bytes);
}

#[test]
fn rfc9112_2_2_bare_lf_line_endings_are_accepted() {
    let bytes = text(&request("")).replace("\r\n", "\n");
    accepted(AcceptPolicy::new(), bytes.as_bytes());
}

#[test]
fn rfc9112_3_a_request_line_with_extra_spaces_gets_400() {
    let bytes = text(&request("")).replace("GET /chat", "GET  /chat");
    assert_eq!(malformed(bytes.as_bytes()), ParseError::RequestTarget);
    let bytes = text(&request("")).replace("/chat HTTP", "/chat  HTTP");
    assert_eq!(malformed(bytes.as_bytes()), ParseError::Version);
}

#[test]
fn rfc9112_6_3_item_5_an_invalid_content_length_gets_400() {
    for value in ["", "abc", "-0", "0, 1"] {
        let bytes = request(&format!("Content-Length: {value}\r\n"));
        assert_eq!(
            malformed(&bytes),
            ParseError::InvalidContentLength,
            "{value:?}"
        );
    }
}

#[test]
fn rfc9112_3_2_a_host_that_is_not_an_authority_gets_400() {
    for host in ["", "exa mple.com", "example.com:port", "a/b", "user@"] {
        let bytes =
            text(&request("")).replace("Host: server.example.com", &format!("Host: {host}"));
        let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST, "{host:?}");
        assert!(
            matches!(rule(&rejected.error), HandshakeError::InvalidHost),
            "{host:?}: {:?}",
            rejected.error
        );
    }
    for host in ["example.com:8080", "[::1]:9001", "127.0.0.1"] {
        let bytes =
            text(&request("")).replace("Host: server.example.com", &format!("Host: {host}"));
        accepted(AcceptPolicy::new(), bytes.as_bytes());
    }
}

#[test]
fn rfc9110_5_5_nul_in_a_field_value_gets_400() {
    assert_eq!(
        malformed(&request("X-Nul: a\0b\r\n")),
        ParseError::HeaderValue
    );
}

#[test]
fn rfc9112_2_3_a_request_version_other_than_1_0_or_1_1_gets_400() {
    for version in ["HTTP/1.2", "HTTP/2.0"] {
        let bytes = text(&request("")).replace("HTTP/1.1", version);
        assert_eq!(
            malformed(bytes.as_bytes()),
            ParseError::Version,
            "{version}"
        );
    }
}

#[test]
fn rfc9112_6_1_transfer_encoding_with_content_length_gets_400() {
    assert_eq!(
        malformed(&request(
            "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"
        )),
        ParseError::TransferEncodingWithContentLength
    );
}

// --- RFC 9110 §10.1.1: Expect: 100-continue on the upgrade request ---

#[test]
fn rfc9110_10_1_1_expect_100_continue_is_answered_with_the_101_at_once() {
    let accepted = accepted(AcceptPolicy::new(), &request("Expect: 100-continue\r\n"));
    let response = text(&accepted.response_bytes);
    assert!(
        response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{response}"
    );
    assert!(!response.contains("100 Continue"), "{response}");
}

#[test]
fn rfc9110_10_1_1_other_expectations_are_ignored_rather_than_answered_417() {
    accepted(AcceptPolicy::new(), &request("Expect: something-else\r\n"));
}

#[test]
fn rfc9110_10_1_1_our_client_expecting_100_upgrades_with_our_server() {
    let mut headers = http::HeaderMap::new();
    headers.insert("expect", HeaderValue::from_static("100-continue"));
    let request = ClientRequest::from_url("ws://localhost/", headers).unwrap();
    let mut client = ClientHandshake::new(request, Limits::default()).unwrap();
    let accepted = accepted(AcceptPolicy::new(), client.request_bytes());
    assert_eq!(accepted.request.headers()["expect"], "100-continue");
    assert!(client.receive(&accepted.response_bytes).unwrap().is_some());
}

// --- Not HTTP at all: refused as soon as the bytes cannot be a request-line ---

/// The first bytes of a TLS 1.3 ClientHello record (RFC 8446 §5.1, §4.1.2).
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\
    \x8a\x1f\x33\x07\x5c\xe1\x90\x2b\x44\x11\x3e\x5d\x62\x01\xaa\x9c\
    \x31\x70\x0e\x4d\x99\x8b\x2c\x6f\x10\x54\x3a\x7e\x02\x65\xc1\xde\
    \x20\x13\x01\x13\x02\x13\x03\x00\x00\x0e\x00\x0c\x00\x00\x09localhost";

/// Feeds `bytes` in two parts split at `at`; returns the decision and how many bytes had
/// been fed when it came.
fn decide_split(bytes: &[u8], at: usize) -> (ServerDecision, usize) {
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    let (a, b) = bytes.split_at(at);
    if let Some(decision) = server.receive(a).unwrap() {
        assert!(matches!(server.receive(b), Err(Error::Finished)));
        return (decision, a.len());
    }
    let decision = server.receive(b).unwrap().expect("a decision");
    (decision, bytes.len())
}

fn not_http(decision: ServerDecision) -> ParseError {
    let ServerDecision::Reject(rejected) = decision else {
        panic!("accepted garbage");
    };
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert!(rejected.request.is_none());
    assert!(
        rejected
            .response_bytes
            .starts_with(b"HTTP/1.1 400 Bad Request\r\n")
    );
    match rejected.error {
        Error::Malformed(kind) => kind,
        other => panic!("expected a malformed request, got {other:?}"),
    }
}

#[test]
fn a_tls_client_hello_is_refused_at_its_first_byte_however_it_is_split() {
    for at in 0..=CLIENT_HELLO.len() {
        let (decision, fed) = decide_split(CLIENT_HELLO, at);
        // Decided with the first part that holds the 0x16, never later.
        let expected_fed = if at == 0 { CLIENT_HELLO.len() } else { at };
        assert_eq!(fed, expected_fed, "split at {at}");
        assert_eq!(not_http(decision), ParseError::NotHttp, "split at {at}");
    }
    // One byte is enough.
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    assert!(matches!(
        server.receive(b"\x16"),
        Ok(Some(ServerDecision::Reject(_)))
    ));
}

/// A small deterministic generator (xorshift64), so the garbage is the same every run.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn random_bytes_are_refused_within_the_start_line_however_they_are_split() {
    for seed in 1..=64 {
        let bytes = garbage(seed, 512);
        // Byte by byte: where the decision comes.
        let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
        let decided_at = bytes
            .iter()
            .position(|b| server.receive(std::slice::from_ref(b)).unwrap().is_some())
            .expect("garbage was never refused");
        // Long before a head could end or reach its size limit.
        assert!(
            decided_at < 64,
            "seed {seed}: refused only after {decided_at} bytes"
        );
        let whole = not_http(decide_split(&bytes, bytes.len()).0);
        for at in 0..=bytes.len() {
            let (decision, fed) = decide_split(&bytes, at);
            assert_eq!(not_http(decision), whole, "seed {seed}, split at {at}");
            let expected_fed = if at > decided_at { at } else { bytes.len() };
            assert_eq!(fed, expected_fed, "seed {seed}, split at {at}");
        }
    }
}

// --- Bounds: every buffer the client fills is bounded, and so is what we answer ---

#[test]
fn a_flood_of_empty_lines_before_the_request_is_cut_at_the_head_bound() {
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    let mut decision = None;
    for _ in 0..10_000 {
        decision = server.receive(b"\r\n\r\n").unwrap();
        if decision.is_some() {
            break;
        }
    }
    let Some(ServerDecision::Reject(rejected)) = decision else {
        panic!("never refused");
    };
    assert_eq!(rejected.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(matches!(
        rejected.error,
        Error::HeadTooLarge { limit: 16384 }
    ));
}

#[test]
fn an_endless_header_line_is_cut_at_the_head_bound_without_waiting_for_its_end() {
    let mut server = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    let mut head = request("");
    head.truncate(head.len() - 2);
    head.extend_from_slice(b"X-Endless: ");
    assert!(server.receive(&head).unwrap().is_none());
    let mut fed = head.len();
    let decision = loop {
        if let Some(decision) = server.receive(&[b'a'; 1000]).unwrap() {
            break decision;
        }
        fed += 1000;
        assert!(
            fed <= Limits::DEFAULT_MAX_HEAD_BYTES,
            "not refused at the bound"
        );
    };
    let ServerDecision::Reject(rejected) = decision else {
        panic!("accepted");
    };
    assert_eq!(rejected.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[test]
fn a_header_count_flood_is_cut_at_the_default_bound() {
    let flood: String = (0..200).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let rejected = rejected(AcceptPolicy::new(), &request(&flood));
    assert_eq!(rejected.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(matches!(
        rejected.error,
        Error::TooManyHeaders { limit: 64 }
    ));
}

#[test]
fn a_rejection_never_echoes_more_than_a_short_message_of_what_the_peer_sent() {
    let long = "x".repeat(12_000);
    // The version value is quoted in the 426's message.
    let bytes = text(&request("")).replace(
        "Sec-WebSocket-Version: 13",
        &format!("Sec-WebSocket-Version: {long}"),
    );
    let rejected = rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected.status, StatusCode::UPGRADE_REQUIRED);
    // The method is quoted in the 405's message.
    let bytes = text(&request("")).replace("GET ", &format!("{} ", long.to_uppercase()));
    let rejected_method = self::rejected(AcceptPolicy::new(), bytes.as_bytes());
    assert_eq!(rejected_method.status, StatusCode::METHOD_NOT_ALLOWED);
    for response in [&rejected.response_bytes, &rejected_method.response_bytes] {
        assert!(
            response.len() < 200 + wintergreen_handshake::MAX_REJECTION_MESSAGE,
            "{} bytes",
            response.len()
        );
    }
}
