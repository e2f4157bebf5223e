//! The server's HTTP/1.1 upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

mod common;

use common::{Dummy, events};
use http::{Request, StatusCode};
use wintergreen_codec::{Config, Event, Message, Role, Session};
use wintergreen_http1::{
    AcceptPolicy, ClientConfig, ClientUpgrade, Error, HandshakeError, PendingOutput, Rejection,
    ServerAccepted, ServerConfig, ServerRejected, ServerUpgrade, ServerUpgraded,
};

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn decide(config: ServerConfig, bytes: &[u8]) -> ServerUpgraded {
    ServerUpgrade::new(config).receive(bytes).unwrap().unwrap()
}

fn accepted(config: ServerConfig, bytes: &[u8]) -> Box<ServerAccepted> {
    match decide(config, bytes) {
        ServerUpgraded::Accepted(accepted) => accepted,
        ServerUpgraded::Rejected(rejected) => panic!("rejected: {}", rejected.error()),
    }
}

fn rejected(config: ServerConfig, bytes: &[u8]) -> Box<ServerRejected> {
    match decide(config, bytes) {
        ServerUpgraded::Rejected(rejected) => rejected,
        ServerUpgraded::Accepted(_) => panic!("accepted"),
    }
}

fn handshake_error(err: &Error) -> &HandshakeError {
    err.as_handshake().unwrap()
}

#[test]
fn session_is_handed_over_only_after_the_101_is_written() {
    let mut accepted = accepted(ServerConfig::default(), REQUEST.as_bytes());
    assert_eq!(
        accepted.pending_output(),
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    assert_eq!(accepted.request().uri(), "/chat");
    assert_eq!(
        accepted.response().status(),
        StatusCode::SWITCHING_PROTOCOLS
    );
    accepted.consume_output(20);
    let mut accepted = accepted.into_parts().unwrap_err();
    assert!(!accepted.is_flushed());
    accepted.consume_output(usize::MAX);
    let parts = accepted.into_parts().unwrap();
    assert_eq!(parts.session.role(), Role::Server);
    assert_eq!(parts.request.headers()["host"], "server.example.com");
}

#[test]
fn client_frames_in_the_same_packet_as_the_request_reach_the_session() {
    let mut client = Session::new(Role::Client, Config::default());
    client.send_text("early").unwrap();
    let mut bytes = REQUEST.as_bytes().to_vec();
    bytes.extend_from_slice(client.pending_output());
    let mut accepted = accepted(ServerConfig::default(), &bytes);
    accepted.consume_output(usize::MAX);
    let mut session = accepted.into_parts().unwrap().session;
    assert_eq!(
        events(&mut session),
        [Ok(Event::Message(Message::text("early")))]
    );
}

#[test]
fn wrong_version_is_rejected_with_426_written_before_the_error_is_handed_over() {
    let bytes = REQUEST.replace("Version: 13", "Version: 8");
    let mut upgraded = decide(ServerConfig::default(), bytes.as_bytes());
    let response = String::from_utf8(upgraded.pending_output().to_vec()).unwrap();
    assert!(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(response.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    upgraded.consume_output(5);
    let ServerUpgraded::Rejected(rejected) = upgraded else {
        panic!("accepted")
    };
    assert_eq!(rejected.status(), StatusCode::UPGRADE_REQUIRED);
    assert!(rejected.request().is_some());
    let mut rejected = rejected.into_error().unwrap_err();
    rejected.consume_output(usize::MAX);
    let err = rejected.into_error().unwrap();
    assert!(matches!(
        handshake_error(&err),
        HandshakeError::UnsupportedVersion(_)
    ));
}

#[test]
fn bad_requests_get_400() {
    for bytes in [
        REQUEST.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
        REQUEST.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="),
        "garbage\r\n\r\n".to_owned(),
    ] {
        let rejected = rejected(ServerConfig::default(), bytes.as_bytes());
        assert_eq!(rejected.status(), StatusCode::BAD_REQUEST, "{bytes}");
        assert!(
            rejected
                .pending_output()
                .starts_with(b"HTTP/1.1 400 Bad Request\r\n")
        );
    }
}

#[test]
fn a_post_gets_405_allowing_get() {
    // RFC 6455 §4.1 opens with GET; RFC 9110 §15.5.6: a 405 names what is allowed.
    let bytes = REQUEST.replace("GET", "POST");
    let rejected = rejected(ServerConfig::default(), bytes.as_bytes());
    assert_eq!(rejected.status(), StatusCode::METHOD_NOT_ALLOWED);
    let head = String::from_utf8(rejected.pending_output().to_vec()).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nAllow: GET\r\n"), "{head}");
}

#[test]
fn policy_rejection_uses_its_status() {
    let mut config = ServerConfig::default();
    config.policy = AcceptPolicy::new().check(|request| {
        if request.headers().contains_key("authorization") {
            Ok(())
        } else {
            Err(Rejection::new(StatusCode::UNAUTHORIZED).with_body("who are you?"))
        }
    });
    let rejected = rejected(config, REQUEST.as_bytes());
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert!(rejected.pending_output().ends_with(b"\r\n\r\nwho are you?"));
    assert!(matches!(
        handshake_error(rejected.error()),
        HandshakeError::Rejected(_)
    ));
}

#[test]
fn input_after_the_decision_is_refused() {
    let mut upgrade = ServerUpgrade::new(ServerConfig::default());
    let _decision = upgrade.receive(REQUEST.as_bytes()).unwrap().unwrap();
    assert!(matches!(
        upgrade.receive(b"x").unwrap_err(),
        Error::Finished
    ));
}

#[test]
fn eof_is_clean_only_before_any_byte() {
    assert!(
        ServerUpgrade::new(ServerConfig::default())
            .receive_eof()
            .is_ok()
    );
    let mut upgrade = ServerUpgrade::new(ServerConfig::default());
    assert!(upgrade.receive(b"GET /").unwrap().is_none());
    assert!(matches!(
        upgrade.receive_eof().unwrap_err(),
        Error::UnexpectedEof
    ));
}

#[test]
fn client_and_server_talk_after_upgrading_in_memory() {
    let mut client_config = ClientConfig::default();
    client_config.subprotocols = vec!["v2".into(), "v1".into()];
    client_config.extensions = vec![Dummy::new("x-ext").arc()];
    let mut server_config = ServerConfig::default();
    server_config.policy = AcceptPolicy::new()
        .subprotocols(["v1"])
        .extension(Dummy::new("x-ext").arc());

    let request = Request::get("ws://localhost:8080/room").body(()).unwrap();
    let mut client = ClientUpgrade::new(request, client_config).unwrap();
    let mut server = ServerUpgrade::new(server_config);

    // The request arrives in two pieces.
    let out = client.pending_output().to_vec();
    client.consume_output(out.len());
    assert!(server.receive(&out[..7]).unwrap().is_none());
    let Some(ServerUpgraded::Accepted(mut accepted)) = server.receive(&out[7..]).unwrap() else {
        panic!("rejected");
    };
    assert_eq!(accepted.subprotocol(), Some("v1"));

    // The server's 101 and its first message arrive together.
    let mut to_client = accepted.pending_output().to_vec();
    accepted.consume_output(usize::MAX);
    let mut server = accepted.into_parts().unwrap().session;
    assert_eq!(server.extension().map(|e| e.name()), Some("x-ext"));
    server.send_text("welcome").unwrap();
    to_client.extend_from_slice(server.pending_output());
    server.consume_output(usize::MAX);

    let upgraded = client.receive(&to_client).unwrap().unwrap();
    assert_eq!(upgraded.subprotocol.as_deref(), Some("v1"));
    let mut client = upgraded.session;
    assert_eq!(client.extension().map(|e| e.name()), Some("x-ext"));
    assert_eq!(
        events(&mut client),
        [Ok(Event::Message(Message::text("welcome")))]
    );

    client.send_binary(b"\x01\x02").unwrap();
    server.receive(std::time::Instant::now(), client.pending_output());
    assert_eq!(
        events(&mut server),
        [Ok(Event::Message(Message::binary(&b"\x01\x02"[..])))]
    );
}
