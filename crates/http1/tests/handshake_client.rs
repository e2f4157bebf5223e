//! The client's side of the opening handshake (RFC 6455 §4.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

mod common;

use std::sync::Arc;

use common::Dummy;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use wintergreen_codec::ExtensionParams;
use wintergreen_handshake::{ClientRequest, Fault, HandshakeError, accept_key};
use wintergreen_http1::{ClientAccept, ClientHandshake, Error, Limits, ParseError};

fn start(url: &str) -> ClientHandshake {
    ClientHandshake::new(
        ClientRequest::from_url(url, HeaderMap::new()).unwrap(),
        Limits::default(),
    )
    .unwrap()
}

fn request_text(handshake: &ClientHandshake) -> String {
    String::from_utf8(handshake.request_bytes().to_vec()).unwrap()
}

/// A 101 head for `handshake` with the right accept, plus `extra` header lines.
fn switching(handshake: &ClientHandshake, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(handshake.key().as_bytes())
    )
    .into_bytes()
}

fn accepted(handshake: &mut ClientHandshake, bytes: &[u8]) -> ClientAccept {
    match handshake.receive(bytes) {
        Ok(Some(accepted)) => accepted,
        other => panic!("expected acceptance, got {other:?}"),
    }
}

fn failure(handshake: &mut ClientHandshake, bytes: &[u8]) -> Error {
    match handshake.receive(bytes) {
        Err(err) => err,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The handshake rule a response breaks.
fn rule_failure(handshake: &mut ClientHandshake, bytes: &[u8]) -> HandshakeError {
    match failure(handshake, bytes) {
        Error::Handshake(err) => err,
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

#[test]
fn request_has_the_rfc_headers_in_order_then_user_headers_title_cased() {
    let mut headers = HeaderMap::new();
    headers.insert("x-foo-bar", HeaderValue::from_static("1"));
    headers.insert("origin", HeaderValue::from_static("http://example.com"));
    let request = ClientRequest::from_url("ws://example.com/chat?room=1&x=2", headers).unwrap();
    let handshake = ClientHandshake::new(request, Limits::default()).unwrap();
    let text = request_text(&handshake);
    let expected = format!(
        "GET /chat?room=1&x=2 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\nX-Foo-Bar: 1\r\nOrigin: http://example.com\r\n\r\n",
        handshake.key()
    );
    assert_eq!(text, expected);
}

#[test]
fn key_is_fresh_base64_of_16_bytes() {
    let a = start("ws://h/");
    let b = start("ws://h/");
    assert!(wintergreen_handshake::is_valid_key(a.key().as_bytes()));
    assert_ne!(a.key(), b.key());
}

#[test]
fn host_has_a_port_only_when_not_the_scheme_default() {
    for (url, host) in [
        ("ws://h:80/", "h"),
        ("ws://h:8080/", "h:8080"),
        ("wss://h:443/", "h"),
        ("wss://h:80/", "h:80"),
        ("http://h/", "h"),
        ("https://h:443/", "h"),
        ("ws://user:pw@h:81/", "h:81"),
        ("ws://[::1]:9001/", "[::1]:9001"),
        ("ws://[::1]/", "[::1]"),
    ] {
        let text = request_text(&start(url));
        assert!(
            text.contains(&format!("\r\nHost: {host}\r\n")),
            "{url}: {text}"
        );
    }
}

#[test]
fn request_target_is_path_and_query_with_root_default() {
    assert!(request_text(&start("ws://h")).starts_with("GET / HTTP/1.1\r\n"));
    assert!(request_text(&start("ws://h?x=1")).starts_with("GET /?x=1 HTTP/1.1\r\n"));
    assert!(request_text(&start("wss://h/a/b?c")).starts_with("GET /a/b?c HTTP/1.1\r\n"));
}

#[test]
fn request_from_http_request_keeps_its_headers() {
    let request = Request::builder()
        .uri("wss://example.com:8443/socket")
        .header("authorization", "Bearer x")
        .body(())
        .unwrap();
    let handshake = ClientHandshake::new(ClientRequest::new(request), Limits::default()).unwrap();
    let text = request_text(&handshake);
    assert!(text.starts_with("GET /socket HTTP/1.1\r\nHost: example.com:8443\r\n"));
    assert!(text.ends_with("Authorization: Bearer x\r\n\r\n"));
}

#[test]
fn uri_must_be_websocket_or_http_with_a_host() {
    for url in ["ftp://h/", "/relative", "h:80"] {
        let result =
            ClientRequest::from_url(url, HeaderMap::new()).and_then(ClientRequest::prepare);
        assert!(
            matches!(result, Err(HandshakeError::InvalidUri(_))),
            "{url}: {result:?}"
        );
    }
}

#[test]
fn method_must_be_get_and_a_wrong_one_is_the_callers_fault() {
    let request = Request::post("ws://h/").body(()).unwrap();
    let Err(Error::Handshake(err)) =
        ClientHandshake::new(ClientRequest::new(request), Limits::default())
    else {
        panic!("a POST request was accepted");
    };
    assert!(
        matches!(&err, HandshakeError::InvalidRequestMethod { method } if method == Method::POST),
        "{err:?}"
    );
    assert_eq!(err.fault(), Fault::Caller);
}

#[test]
fn user_headers_must_not_duplicate_handshake_headers() {
    for name in [
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static("x"));
        let result = ClientHandshake::new(
            ClientRequest::from_url("ws://h/", headers).unwrap(),
            Limits::default(),
        );
        assert!(
            matches!(result, Err(Error::Handshake(HandshakeError::ReservedHeader(ref n))) if n == name),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn user_protocol_header_counts_as_the_offer() {
    let mut headers = HeaderMap::new();
    headers.insert("sec-websocket-protocol", HeaderValue::from_static("a, b"));
    let request = ClientRequest::from_url("ws://h/", headers)
        .unwrap()
        .subprotocols(["c"]);
    let mut handshake = ClientHandshake::new(request, Limits::default()).unwrap();
    let text = request_text(&handshake);
    assert_eq!(text.matches("Sec-WebSocket-Protocol").count(), 1, "{text}");
    assert!(text.contains("\r\nSec-WebSocket-Protocol: c, a, b\r\n"));
    let response = switching(&handshake, "Sec-WebSocket-Protocol: b\r\n");
    assert_eq!(
        accepted(&mut handshake, &response).subprotocol.as_deref(),
        Some("b")
    );
}

#[test]
fn subprotocols_must_be_tokens() {
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new())
        .unwrap()
        .subprotocols(["a b"]);
    assert!(matches!(
        ClientHandshake::new(request, Limits::default()),
        Err(Error::Handshake(HandshakeError::InvalidSubprotocol(_)))
    ));
}

#[test]
fn extension_offers_are_comma_joined_in_factory_order() {
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new())
        .unwrap()
        .extension(
            Dummy::new("permessage-deflate")
                .offering(vec![
                    ExtensionParams::new("permessage-deflate")
                        .param("client_max_window_bits", None),
                    ExtensionParams::new("permessage-deflate"),
                ])
                .arc(),
        )
        .extension(Dummy::new("silent").offering(vec![]).arc())
        .extension(
            Dummy::new("x-other")
                .offering(vec![
                    ExtensionParams::new("x-other").param("v", Some("a b".into())),
                ])
                .arc(),
        );
    let text = request_text(&ClientHandshake::new(request, Limits::default()).unwrap());
    assert!(
        text.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate, x-other; v=\"a b\"\r\n"),
        "{text}"
    );
}

#[test]
fn extension_offer_that_would_corrupt_the_request_is_refused() {
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new())
        .unwrap()
        .extension(
            Dummy::new("x")
                .offering(vec![
                    ExtensionParams::new("x").param("a", Some("1\r\nEvil: 1".into())),
                ])
                .arc(),
        );
    assert!(matches!(
        ClientHandshake::new(request, Limits::default()),
        Err(Error::Handshake(HandshakeError::InvalidExtensionOffer(_)))
    ));
}

#[test]
fn valid_101_is_accepted_with_response_headers() {
    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "");
    let accepted = accepted(&mut handshake, &bytes);
    assert_eq!(accepted.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(accepted.response.headers()["upgrade"], "websocket");
    assert!(accepted.subprotocol.is_none());
    assert!(accepted.extension.is_none());
    assert!(accepted.leftover.is_empty());
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_result() {
    let factory = Dummy::new("x-ext").arc();
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new())
        .unwrap()
        .subprotocols(["chat"])
        .extension(factory);
    let mut handshake = ClientHandshake::new(request, Limits::default()).unwrap();
    let mut bytes = switching(
        &handshake,
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-ext; a=1\r\n",
    );
    let frame = [0x81, 0x02, b'h', b'i'];
    bytes.extend_from_slice(&frame);

    let mut result = None;
    for (i, byte) in bytes.iter().enumerate() {
        match handshake.receive(std::slice::from_ref(byte)).unwrap() {
            None => {}
            Some(done) => {
                result = Some((i, done));
                break;
            }
        }
    }
    let (at, done) = result.expect("accepted");
    // Accepted on the head's last byte; the frame arrived later, byte by byte.
    assert_eq!(at, bytes.len() - frame.len() - 1);
    assert_eq!(done.subprotocol.as_deref(), Some("chat"));
    assert_eq!(
        done.extension
            .as_ref()
            .map(|e| e.name().to_owned())
            .as_deref(),
        Some("x-ext")
    );
    assert_eq!(
        done.response.headers()["sec-websocket-extensions"],
        "x-ext; a=1"
    );
    assert!(done.leftover.is_empty());
}

#[test]
fn whole_packet_and_byte_at_a_time_agree() {
    let mut whole = start("ws://h/");
    let mut bytes = switching(&whole, "X-Stray: 1\r\n");
    bytes.extend_from_slice(b"\x81\x00");
    let a = accepted(&mut whole, &bytes);

    let mut split = start("ws://h/");
    // Same response but for this handshake's key.
    let mut bytes = switching(&split, "X-Stray: 1\r\n");
    bytes.extend_from_slice(b"\x81\x00");
    let mut b = None;
    for byte in &bytes {
        if let Some(done) = split.receive(std::slice::from_ref(byte)).unwrap() {
            b = Some(done);
        }
        if b.is_some() {
            break;
        }
    }
    let b = b.unwrap();
    assert_eq!(a.response.status(), b.response.status());
    assert_eq!(a.response.headers().len(), b.response.headers().len());
    assert_eq!(a.leftover, &b"\x81\x00"[..]);
    assert!(b.leftover.is_empty());
}

#[test]
fn rfc9112_4_reason_phrase_may_be_absent_empty_or_any_text() {
    for status_line in [
        "HTTP/1.1 101\r\n",
        "HTTP/1.1 101 \r\n",
        "HTTP/1.1 101 Whatever You Like\r\n",
        "HTTP/1.1 101 Gew\u{e4}hrt\tok\r\n",
    ] {
        let mut handshake = start("ws://h/");
        let bytes = format!(
            "{status_line}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(handshake.key().as_bytes())
        );
        accepted(&mut handshake, bytes.as_bytes());
    }
}

#[test]
fn connection_may_list_upgrade_among_other_tokens() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    accepted(&mut handshake, bytes.as_bytes());
}

#[test]
fn oddly_cased_header_names_and_values_are_accepted() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nuPgRaDe: WebSocket\r\nCONNECTION: UPGRADE\r\nsec-websocket-accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    accepted(&mut handshake, bytes.as_bytes());
}

#[test]
fn extra_stray_and_repeated_headers_are_tolerated() {
    let mut handshake = start("ws://h/");
    let bytes = switching(
        &handshake,
        "Server: test\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
    );
    let accepted = accepted(&mut handshake, &bytes);
    assert_eq!(
        accepted
            .response
            .headers()
            .get_all("set-cookie")
            .iter()
            .count(),
        2
    );
}

#[test]
fn upgrade_and_connection_may_span_repeated_lines() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    accepted(&mut handshake, bytes.as_bytes());
}

#[test]
fn missing_upgrade_websocket_fails() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    assert!(matches!(
        rule_failure(&mut handshake, bytes.as_bytes()),
        HandshakeError::MissingUpgrade
    ));
}

#[test]
fn missing_connection_upgrade_fails() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    assert!(matches!(
        rule_failure(&mut handshake, bytes.as_bytes()),
        HandshakeError::MissingConnectionUpgrade
    ));
}

#[test]
fn accept_must_be_present_match_the_key_and_appear_once() {
    let mut handshake = start("ws://h/");
    let bytes =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert!(matches!(
        rule_failure(&mut handshake, bytes),
        HandshakeError::MissingAccept
    ));

    let mut handshake = start("ws://h/");
    let bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert!(matches!(
        rule_failure(&mut handshake, bytes),
        HandshakeError::InvalidAccept
    ));

    let mut handshake = start("ws://h/");
    let accept = accept_key(handshake.key().as_bytes());
    let bytes = switching(&handshake, &format!("Sec-WebSocket-Accept: {accept}\r\n"));
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::InvalidAccept
    ));
}

fn offering(protocols: &[&str]) -> ClientHandshake {
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new())
        .unwrap()
        .subprotocols(protocols.iter().copied());
    ClientHandshake::new(request, Limits::default()).unwrap()
}

#[test]
fn unoffered_subprotocol_fails() {
    let mut handshake = offering(&["chat"]);
    let bytes = switching(&handshake, "Sec-WebSocket-Protocol: superchat\r\n");
    assert!(
        matches!(rule_failure(&mut handshake, &bytes), HandshakeError::UnofferedSubprotocol(p) if p == "superchat")
    );

    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "Sec-WebSocket-Protocol: chat\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::UnofferedSubprotocol(_)
    ));
}

#[test]
fn subprotocol_comparison_is_exact() {
    let mut handshake = offering(&["chat"]);
    let bytes = switching(&handshake, "Sec-WebSocket-Protocol: CHAT\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::UnofferedSubprotocol(_)
    ));
}

#[test]
fn more_than_one_subprotocol_fails() {
    let mut handshake = offering(&["a", "b"]);
    let bytes = switching(&handshake, "Sec-WebSocket-Protocol: a, b\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::MultipleSubprotocols
    ));

    let mut handshake = offering(&["a", "b"]);
    let bytes = switching(
        &handshake,
        "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n",
    );
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::MultipleSubprotocols
    ));
}

#[test]
fn absent_subprotocol_is_fine_even_when_offered() {
    let mut handshake = offering(&["a", "b"]);
    let bytes = switching(&handshake, "");
    assert_eq!(accepted(&mut handshake, &bytes).subprotocol, None);
}

#[test]
fn offered_subprotocol_is_returned() {
    let mut handshake = offering(&["a", "b"]);
    let bytes = switching(&handshake, "Sec-WebSocket-Protocol:  b \r\n");
    assert_eq!(
        accepted(&mut handshake, &bytes).subprotocol.as_deref(),
        Some("b")
    );
}

fn with_extensions(factories: Vec<Arc<Dummy>>) -> ClientHandshake {
    let mut request = ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap();
    for factory in factories {
        request = request.extension(factory);
    }
    ClientHandshake::new(request, Limits::default()).unwrap()
}

#[test]
fn accepted_extension_reaches_its_factory_with_params() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").arc()]);
    let bytes = switching(
        &handshake,
        "sec-websocket-extensions: X-Ext ; a=\"1\"; b\r\n",
    );
    let accepted = accepted(&mut handshake, &bytes);
    let extension = accepted.extension.unwrap();
    assert_eq!(extension.name(), "x-ext");
}

#[test]
fn unoffered_extension_fails() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").arc()]);
    let bytes = switching(
        &handshake,
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    assert!(
        matches!(rule_failure(&mut handshake, &bytes), HandshakeError::UnofferedExtension(n) if n == "permessage-deflate")
    );

    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "Sec-WebSocket-Extensions: x-ext\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::UnofferedExtension(_)
    ));
}

#[test]
fn extension_that_offered_nothing_may_not_be_accepted() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").offering(vec![]).arc()]);
    let bytes = switching(&handshake, "Sec-WebSocket-Extensions: x-ext\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::UnofferedExtension(_)
    ));
}

#[test]
fn extension_answered_twice_fails() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").arc()]);
    let bytes = switching(
        &handshake,
        "Sec-WebSocket-Extensions: x-ext; a\r\nSec-WebSocket-Extensions: x-ext; b\r\n",
    );
    assert!(
        matches!(rule_failure(&mut handshake, &bytes), HandshakeError::DuplicateExtension(n) if n == "x-ext")
    );
}

#[test]
fn factory_refusing_the_answer_fails() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").refusing().arc()]);
    let bytes = switching(&handshake, "Sec-WebSocket-Extensions: x-ext\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::ExtensionRejected { name, .. } if name == "x-ext"
    ));
}

#[test]
fn two_accepted_extensions_fail_since_a_session_runs_one() {
    let mut handshake = with_extensions(vec![Dummy::new("x-a").arc(), Dummy::new("x-b").arc()]);
    let bytes = switching(&handshake, "Sec-WebSocket-Extensions: x-a, x-b\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::MultipleExtensions { .. }
    ));
}

#[test]
fn malformed_extension_answer_fails() {
    let mut handshake = with_extensions(vec![Dummy::new("x-ext").arc()]);
    let bytes = switching(&handshake, "Sec-WebSocket-Extensions: x-ext; a=\"open\r\n");
    assert!(matches!(
        rule_failure(&mut handshake, &bytes),
        HandshakeError::InvalidExtensionHeader(_)
    ));
}

#[test]
fn header_bytes_limit_is_enforced() {
    let mut limits = Limits::default();
    limits.max_head_bytes = 256;
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap();
    let mut handshake = ClientHandshake::new(request, limits).unwrap();
    let bytes = switching(&handshake, &format!("X-Big: {}\r\n", "a".repeat(300)));
    assert!(matches!(
        failure(&mut handshake, &bytes),
        Error::HeadTooLarge { limit: 256 }
    ));

    // A head that never ends fails once it passes the limit, without waiting for more.
    let mut handshake = start("ws://h/");
    let mut result = handshake.receive(b"HTTP/1.1 101 OK\r\nX-Endless: ");
    let chunk = [b'a'; 1024];
    for _ in 0..=16 {
        result = handshake.receive(&chunk);
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(result, Err(Error::HeadTooLarge { limit: 16384 })));
}

#[test]
fn header_count_limit_is_enforced() {
    let mut limits = Limits::default();
    limits.max_headers = 4;
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap();
    let mut handshake = ClientHandshake::new(request, limits).unwrap();
    let bytes = switching(&handshake, "A: 1\r\nB: 2\r\n");
    assert!(matches!(
        failure(&mut handshake, &bytes),
        Error::TooManyHeaders { limit: 4 }
    ));

    let mut handshake = start("ws://h/");
    let extra: String = (0..61).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let bytes = switching(&handshake, &extra);
    accepted(&mut handshake, &bytes);
    let mut handshake = start("ws://h/");
    let extra: String = (0..62).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let bytes = switching(&handshake, &extra);
    assert!(matches!(
        failure(&mut handshake, &bytes),
        Error::TooManyHeaders { limit: 64 }
    ));
}

fn upgrade_failed(err: Error) -> (StatusCode, HeaderMap, bytes::Bytes) {
    match err {
        Error::Handshake(HandshakeError::UpgradeFailed {
            status,
            headers,
            body,
        }) => (status, *headers, body),
        other => panic!("expected UpgradeFailed, got {other:?}"),
    }
}

#[test]
fn non_101_with_content_length_waits_for_the_whole_body() {
    let mut handshake = start("ws://h/");
    assert!(
        handshake
            .receive(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\nX-Reason: origin\r\n\r\nnot "
            )
            .unwrap()
            .is_none()
    );
    assert!(handshake.receive(b"allo").unwrap().is_none());
    let (status, headers, body) =
        upgrade_failed(handshake.receive(b"wed trailing garbage").unwrap_err());
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-reason"], "origin");
    assert_eq!(body, &b"not allowed"[..]);
    assert!(matches!(handshake.receive(b"more"), Err(Error::Finished)));
}

#[test]
fn non_101_without_length_ends_at_eof() {
    let mut handshake = start("ws://h/");
    assert!(
        handshake
            .receive(b"HTTP/1.1 500 Oops\r\n\r\npart one, ")
            .unwrap()
            .is_none()
    );
    assert!(handshake.receive(b"part two").unwrap().is_none());
    let (status, _, body) = upgrade_failed(handshake.receive_eof());
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, &b"part one, part two"[..]);
}

#[test]
fn a_refusal_cut_by_the_callers_timeout_is_upgrade_failed_with_the_body_so_far() {
    let mut handshake = start("ws://h/");
    assert!(handshake.receive_timeout().is_none(), "no head yet");
    let mut handshake = start("ws://h/");
    assert!(handshake.receive(b"HTTP/1.1 403 Forb").unwrap().is_none());
    assert!(handshake.receive_timeout().is_none(), "no whole head yet");
    let mut handshake = start("ws://h/");
    let head = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nslow";
    assert!(handshake.receive(head).unwrap().is_none());
    let (status, headers, body) = upgrade_failed(handshake.receive_timeout().unwrap());
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["content-length"], "100");
    assert_eq!(body, &b"slow"[..]);
    assert!(
        handshake.receive_timeout().is_none(),
        "the result was given"
    );
    assert!(matches!(handshake.receive(b"more"), Err(Error::Finished)));
}

#[test]
fn non_101_body_is_cut_at_the_bound() {
    let mut limits = Limits::default();
    limits.max_body_bytes = 10;
    // With Content-Length: done once the bound is reached.
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap();
    let mut handshake = ClientHandshake::new(request, limits).unwrap();
    assert!(
        handshake
            .receive(b"HTTP/1.1 400 Bad\r\nContent-Length: 1000\r\n\r\n01234")
            .unwrap()
            .is_none()
    );
    let (_, _, body) = upgrade_failed(handshake.receive(b"56789abcdef").unwrap_err());
    assert_eq!(body, &b"0123456789"[..]);

    // Until EOF: done once the bound is reached, without waiting for the end.
    let request = ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap();
    let mut handshake = ClientHandshake::new(request, limits).unwrap();
    let (_, _, body) = upgrade_failed(
        handshake
            .receive(b"HTTP/1.1 400 Bad\r\n\r\n0123456789abcdef")
            .unwrap_err(),
    );
    assert_eq!(body, &b"0123456789"[..]);

    // The default bound is 64 KiB.
    let mut handshake = start("ws://h/");
    let mut bytes = b"HTTP/1.1 400 Bad\r\nContent-Length: 100000\r\n\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 70_000));
    let (_, _, body) = upgrade_failed(handshake.receive(&bytes).unwrap_err());
    assert_eq!(body.len(), Limits::DEFAULT_MAX_BODY_BYTES);
}

#[test]
fn non_101_chunked_body_is_decoded() {
    let mut handshake = start("ws://h/");
    let bytes = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
    for (i, byte) in bytes.iter().enumerate() {
        match handshake.receive(std::slice::from_ref(byte)) {
            Ok(None) => assert!(i < bytes.len() - 1),
            Err(err) => {
                assert_eq!(i, bytes.len() - 1);
                let (status, _, body) = upgrade_failed(err);
                assert_eq!(status, StatusCode::NOT_FOUND);
                assert_eq!(body, &b"hello world"[..]);
                return;
            }
            Ok(Some(_)) => panic!("accepted a 404"),
        }
    }
    panic!("never finished");
}

#[test]
fn non_101_without_body_fails_at_once() {
    for head in [
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
    ] {
        let mut handshake = start("ws://h/");
        let (_, _, body) = upgrade_failed(handshake.receive(head.as_bytes()).unwrap_err());
        assert!(body.is_empty());
    }
}

#[test]
fn frames_in_the_same_packet_as_the_101_are_left_over() {
    let mut handshake = start("ws://h/");
    let mut bytes = switching(&handshake, "");
    bytes.extend_from_slice(b"\x81\x05hello\x89\x00");
    let accepted = accepted(&mut handshake, &bytes);
    assert_eq!(accepted.leftover, &b"\x81\x05hello\x89\x00"[..]);
}

#[test]
fn eof_before_the_head_is_unexpected() {
    let mut handshake = start("ws://h/");
    assert!(handshake.receive(b"HTTP/1.1 101 Swi").unwrap().is_none());
    assert!(matches!(handshake.receive_eof(), Error::UnexpectedEof));
    assert!(matches!(handshake.receive_eof(), Error::Finished));
}

#[test]
fn input_after_the_result_is_refused() {
    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "");
    accepted(&mut handshake, &bytes);
    assert!(matches!(handshake.receive(b"x"), Err(Error::Finished)));
}

#[test]
fn malformed_response_fails() {
    for bytes in [
        &b"HTTP/1.1 1O1 Nope\r\n\r\n"[..],
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nBad Header\r\n\r\n",
    ] {
        let mut handshake = start("ws://h/");
        assert!(
            matches!(failure(&mut handshake, bytes), Error::Malformed(_)),
            "{bytes:?}"
        );
    }
}

// --- RFC 9110 §15 / RFC 9112 §2–§7: the response read as a user agent ---

/// A client with these limits.
fn start_with(limits: Limits) -> ClientHandshake {
    ClientHandshake::new(
        ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap(),
        limits,
    )
    .unwrap()
}

/// Feeds `bytes` split at `at`, and returns the result of the call that ended it.
fn receive_split(
    handshake: &mut ClientHandshake,
    bytes: &[u8],
    at: usize,
) -> Result<Option<ClientAccept>, Error> {
    let (a, b) = bytes.split_at(at);
    match handshake.receive(a) {
        Ok(None) => handshake.receive(b),
        done => done,
    }
}

fn malformed(handshake: &mut ClientHandshake, bytes: &[u8]) -> ParseError {
    match failure(handshake, bytes) {
        Error::Malformed(kind) => kind,
        other => panic!("expected a malformed response, got {other:?}"),
    }
}

#[test]
fn rfc9110_15_2_a_100_continue_in_the_same_read_as_the_101_is_skipped() {
    // The input: `Expect: 100-continue` sent as a custom header, the server answers
    // 100 Continue and the 101 in one write.
    let mut headers = HeaderMap::new();
    headers.insert("expect", HeaderValue::from_static("100-continue"));
    let request = ClientRequest::from_url("ws://h/", headers).unwrap();
    let mut handshake = ClientHandshake::new(request, Limits::default()).unwrap();
    assert!(request_text(&handshake).contains("\r\nExpect: 100-continue\r\n"));
    let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    bytes.extend(switching(&handshake, ""));
    bytes.extend_from_slice(b"\x81\x00");
    let accepted = accepted(&mut handshake, &bytes);
    assert_eq!(accepted.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(accepted.leftover, &b"\x81\x00"[..]);
}

#[test]
fn rfc9110_15_2_several_interim_responses_split_anywhere_are_skipped() {
    let template = start("ws://h/");
    let key = template.key().to_owned();
    for at in 0..400 {
        let mut handshake = start("ws://h/");
        let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
            HTTP/1.1 102\n\n"
            .to_vec();
        bytes.extend(switching(&handshake, ""));
        let at = at % (bytes.len() + 1);
        let accepted = receive_split(&mut handshake, &bytes, at)
            .unwrap_or_else(|err| panic!("split at {at}: {err:?}"))
            .unwrap_or_else(|| panic!("split at {at}: no result"));
        assert_eq!(accepted.response.status(), 101);
        assert!(accepted.leftover.is_empty());
        // The interim heads' fields do not leak into the final response.
        assert!(!accepted.response.headers().contains_key("link"));
        assert_ne!(handshake.key(), key);
    }
}

#[test]
fn rfc9110_15_2_interim_responses_before_a_refusal_are_skipped() {
    let mut handshake = start("ws://h/");
    let (status, _, body) = upgrade_failed(failure(
        &mut handshake,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, &b"no"[..]);
}

#[test]
fn rfc9110_15_an_unrecognized_1xx_is_interim_like_100() {
    let mut handshake = start("ws://h/");
    let mut bytes = b"HTTP/1.1 199 Whatever\r\nX-Hint: 1\r\n\r\n".to_vec();
    bytes.extend(switching(&handshake, ""));
    assert_eq!(accepted(&mut handshake, &bytes).response.status(), 101);
}

#[test]
fn rfc9110_15_2_interim_responses_are_bounded() {
    let mut limits = Limits::default();
    limits.max_interim_responses = 3;
    let mut handshake = start_with(limits);
    let flood = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(4);
    assert!(matches!(
        failure(&mut handshake, &flood),
        Error::TooManyInterimResponses { limit: 3 }
    ));

    // At the default bound, a server that never stops sending 100s is cut off after 8,
    // however they are delivered.
    let mut handshake = start("ws://h/");
    let mut result = Ok(None);
    for _ in 0..=Limits::DEFAULT_MAX_INTERIM_RESPONSES {
        result = handshake.receive(b"HTTP/1.1 100 Continue\r\n\r\n");
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(
        result,
        Err(Error::TooManyInterimResponses { limit: 8 })
    ));
}

#[test]
fn rfc9110_15_a_status_code_outside_100_to_999_is_malformed() {
    for line in ["HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 000\r\n\r\n"] {
        let mut handshake = start("ws://h/");
        assert_eq!(
            malformed(&mut handshake, line.as_bytes()),
            ParseError::Status,
            "{line}"
        );
    }
}

#[test]
fn rfc9112_2_2_bare_lf_line_endings_are_accepted() {
    let mut handshake = start("ws://h/");
    let bytes = String::from_utf8(switching(&handshake, "X-Other: 1\r\n"))
        .unwrap()
        .replace("\r\n", "\n");
    let accepted = accepted(&mut handshake, bytes.as_bytes());
    assert_eq!(accepted.response.headers()["x-other"], "1");
}

#[test]
fn rfc9112_2_2_a_bare_cr_is_malformed() {
    let mut handshake = start("ws://h/");
    assert_eq!(
        malformed(
            &mut handshake,
            b"HTTP/1.1 101 OK\rUpgrade: websocket\r\n\r\n"
        ),
        ParseError::BareCr
    );
    let mut handshake = start("ws://h/");
    let kind = malformed(
        &mut handshake,
        b"HTTP/1.1 101 OK\r\nUpgrade: web\rsocket\r\n\r\n",
    );
    assert!(
        matches!(kind, ParseError::HeaderValue | ParseError::BareCr),
        "{kind:?}"
    );
}

#[test]
fn rfc9112_2_2_empty_lines_before_the_status_line_are_tolerated() {
    let mut handshake = start("ws://h/");
    let mut bytes = b"\r\n\n".to_vec();
    bytes.extend(switching(&handshake, ""));
    accepted(&mut handshake, &bytes);
}

#[test]
fn rfc9112_2_2_whitespace_before_the_first_field_line_is_malformed() {
    let mut handshake = start("ws://h/");
    let mut bytes = switching(&handshake, "");
    bytes.splice(34..34, *b" X: 1\r\n");
    assert!(bytes.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n X: 1\r\n"));
    assert_eq!(malformed(&mut handshake, &bytes), ParseError::HeaderName);
}

#[test]
fn rfc9112_2_3_an_http_1_0_refusal_is_read_until_the_connection_closes() {
    let mut handshake = start("ws://h/");
    assert!(
        handshake
            .receive(b"HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno ")
            .unwrap()
            .is_none()
    );
    assert!(handshake.receive(b"entry").unwrap().is_none());
    let (status, _, body) = upgrade_failed(handshake.receive_eof());
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, &b"no entry"[..]);
}

#[test]
fn rfc9112_2_3_a_major_version_other_than_1_is_malformed() {
    for line in [
        "HTTP/2.0 101 OK\r\n\r\n",
        "HTTP/0.9 101 OK\r\n\r\n",
        "HTTP/1.x 101\r\n\r\n",
    ] {
        let mut handshake = start("ws://h/");
        assert_eq!(
            malformed(&mut handshake, line.as_bytes()),
            ParseError::Version,
            "{line}"
        );
    }
}

#[test]
fn rfc9110_6_2_a_higher_minor_version_is_read_as_http_1_1() {
    let mut handshake = start("ws://h/");
    let mut bytes_whole = b"\r\n".to_vec();
    bytes_whole.extend(switching(&handshake, ""));
    bytes_whole.splice(7..10, *b"1.7");
    assert!(bytes_whole.starts_with(b"\r\nHTTP/1.7 101 "));
    let accepted = accepted(&mut handshake, &bytes_whole);
    assert_eq!(accepted.response.version(), http::Version::HTTP_11);
}

#[test]
fn rfc9110_5_5_nul_in_a_field_value_is_malformed() {
    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "X-Nul: a\0b\r\n");
    assert_eq!(malformed(&mut handshake, &bytes), ParseError::HeaderValue);
}

#[test]
fn rfc9112_4_bytes_that_cannot_begin_a_status_line_fail_at_the_first_byte() {
    let mut handshake = start("ws://h/");
    assert_eq!(malformed(&mut handshake, b"S"), ParseError::NotHttp);
    let mut handshake = start("ws://h/");
    assert_eq!(
        malformed(&mut handshake, b"\x16\x03\x03"),
        ParseError::NotHttp
    );
}

#[test]
fn rfc9112_5_1_whitespace_between_field_name_and_colon_is_malformed() {
    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "X-Spaced : 1\r\n");
    assert_eq!(malformed(&mut handshake, &bytes), ParseError::HeaderName);
}

#[test]
fn rfc9112_5_1_whitespace_around_a_field_value_is_not_part_of_it() {
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: \t websocket \t\r\nConnection:Upgrade\r\n\
         Sec-WebSocket-Accept:   {}  \r\nX-Empty:\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    let accepted = accepted(&mut handshake, bytes.as_bytes());
    assert_eq!(accepted.response.headers()["upgrade"], "websocket");
    assert_eq!(accepted.response.headers()["x-empty"], "");
}

#[test]
fn rfc9112_5_2_obs_fold_is_replaced_with_spaces() {
    let mut handshake = start("ws://h/");
    let bytes = switching(&handshake, "X-Folded: one\r\n two\r\n\tthree\r\n");
    let answer = accepted(&mut handshake, &bytes);
    let folded = answer.response.headers()["x-folded"].to_str().unwrap();
    assert_eq!(
        folded.split_ascii_whitespace().collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    assert!(!folded.contains(['\r', '\n']));

    // A folded Connection header still lists its tokens.
    let mut handshake = start("ws://h/");
    let bytes = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive,\r\n Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(handshake.key().as_bytes())
    );
    accepted(&mut handshake, bytes.as_bytes());
}

#[test]
fn rfc9112_6_3_item_5_an_invalid_content_length_is_malformed() {
    for value in [
        "12abc",
        "-1",
        "+5",
        "1, 2",
        "",
        "0x10",
        "99999999999999999999999",
    ] {
        let mut handshake = start("ws://h/");
        let head = format!("HTTP/1.1 403 Forbidden\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            malformed(&mut handshake, head.as_bytes()),
            ParseError::InvalidContentLength,
            "{value:?}"
        );
    }
    // Two field lines that disagree.
    let mut handshake = start("ws://h/");
    assert_eq!(
        malformed(
            &mut handshake,
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"
        ),
        ParseError::InvalidContentLength
    );
}

#[test]
fn rfc9110_8_6_repeated_identical_content_lengths_are_one_length() {
    let mut handshake = start("ws://h/");
    let (_, _, body) = upgrade_failed(failure(
        &mut handshake,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nnoXX",
    ));
    assert_eq!(body, &b"no"[..]);
}

#[test]
fn rfc9112_6_3_item_3_transfer_encoding_with_content_length_is_malformed() {
    let mut handshake = start("ws://h/");
    assert_eq!(
        malformed(
            &mut handshake,
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        ),
        ParseError::TransferEncodingWithContentLength
    );
}

#[test]
fn rfc9112_6_1_transfer_encoding_in_http_1_0_is_malformed() {
    let mut handshake = start("ws://h/");
    assert_eq!(
        malformed(
            &mut handshake,
            b"HTTP/1.0 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        ParseError::TransferEncodingInHttp10
    );
}

#[test]
fn rfc9112_6_3_item_4_a_final_coding_other_than_chunked_reads_until_eof() {
    let mut handshake = start("ws://h/");
    assert!(
        handshake
            .receive(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nabc")
            .unwrap()
            .is_none()
    );
    let (_, _, body) = upgrade_failed(handshake.receive_eof());
    assert_eq!(body, &b"5\r\nabc"[..]);
}

#[test]
fn rfc9112_6_3_item_1_204_and_304_end_at_the_head_whatever_their_fields_say() {
    for head in [
        "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let mut handshake = start("ws://h/");
        let (_, _, body) = upgrade_failed(failure(&mut handshake, head.as_bytes()));
        assert!(body.is_empty(), "{head}");
    }
}

// --- Bounds: every buffer the server fills is bounded ---

#[test]
fn a_chunked_refusal_body_flood_is_cut_at_the_bound() {
    let mut limits = Limits::default();
    limits.max_body_bytes = 100;
    let mut handshake = start_with(limits);
    assert!(
        handshake
            .receive(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .is_none()
    );
    let chunk = format!("40\r\n{}\r\n", "x".repeat(64));
    let mut result = Ok(None);
    for _ in 0..1000 {
        result = handshake.receive(chunk.as_bytes());
        if result.is_err() {
            break;
        }
    }
    let (_, _, body) = upgrade_failed(result.unwrap_err());
    assert_eq!(body.len(), 100);
}

#[test]
fn an_endless_chunk_size_line_or_trailer_ends_the_refusal() {
    for prefix in ["", "0\r\n"] {
        let mut handshake = start("ws://h/");
        let head = format!("HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n{prefix}");
        assert!(handshake.receive(head.as_bytes()).unwrap().is_none());
        let endless = if prefix.is_empty() {
            "0"
        } else {
            "X-Trailer: aaaa"
        };
        let mut result = Ok(None);
        for _ in 0..10_000 {
            result = handshake.receive(endless.as_bytes());
            if result.is_err() {
                break;
            }
        }
        let (status, _, _) = upgrade_failed(result.unwrap_err());
        assert_eq!(status, StatusCode::FORBIDDEN, "{prefix:?}");
    }
}

#[test]
fn an_endless_until_eof_refusal_body_is_cut_at_the_default_bound() {
    let mut handshake = start("ws://h/");
    assert!(
        handshake
            .receive(b"HTTP/1.1 503 Busy\r\n\r\n")
            .unwrap()
            .is_none()
    );
    let mut result = Ok(None);
    for _ in 0..100 {
        result = handshake.receive(&[b'x'; 1024]);
        if result.is_err() {
            break;
        }
    }
    let (_, _, body) = upgrade_failed(result.unwrap_err());
    assert_eq!(body.len(), Limits::DEFAULT_MAX_BODY_BYTES);
}
