//! The client's HTTP/1.1 upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

mod common;

use common::{Dummy, events};
use http::{HeaderValue, Request, StatusCode};
use wintergreen_codec::{Config, Event, Message, Role, Session};
use wintergreen_handshake::accept_key;
use wintergreen_http1::{
    ClientConfig, ClientUpgrade, ClientUpgraded, Error, HandshakeError, PendingOutput,
};

fn upgrade(config: ClientConfig) -> ClientUpgrade {
    ClientUpgrade::new(
        Request::get("ws://example.com/ws").body(()).unwrap(),
        config,
    )
    .unwrap()
}

fn switching(upgrade: &ClientUpgrade, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(upgrade.key().as_bytes())
    )
    .into_bytes()
}

/// Frames a server would send: a text message and a ping.
fn server_frames() -> Vec<u8> {
    let mut server = Session::new(Role::Server, Config::default());
    server.send_text("hello").unwrap();
    server.send_ping(b"p").unwrap();
    server.pending_output().to_vec()
}

fn handshake_error(err: Error) -> HandshakeError {
    match err {
        Error::Handshake(err) => err,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn request_bytes_are_queued_and_drained_by_consume_output() {
    let mut upgrade = upgrade(ClientConfig::default());
    let total = upgrade.pending_output().len();
    assert!(
        upgrade
            .pending_output()
            .starts_with(b"GET /ws HTTP/1.1\r\nHost: example.com\r\n")
    );
    assert!(upgrade.pending_output().ends_with(b"\r\n\r\n"));
    upgrade.consume_output(10);
    assert_eq!(upgrade.pending_output().len(), total - 10);
    upgrade.consume_output(usize::MAX);
    assert!(upgrade.pending_output().is_empty());
}

#[test]
fn config_headers_subprotocols_and_extensions_are_sent() {
    let mut config = ClientConfig::default();
    config
        .headers
        .insert("x-token", HeaderValue::from_static("abc"));
    config.subprotocols = vec!["v1".into()];
    config.extensions = vec![Dummy::new("x-ext").arc()];
    let request = Request::get("wss://example.com:444/")
        .header("origin", "https://o")
        .body(())
        .unwrap();
    let upgrade = ClientUpgrade::new(request, config).unwrap();
    let text = String::from_utf8(upgrade.pending_output().to_vec()).unwrap();
    assert!(text.contains("\r\nHost: example.com:444\r\n"));
    assert!(text.contains("\r\nSec-WebSocket-Protocol: v1\r\n"));
    assert!(text.contains("\r\nSec-WebSocket-Extensions: x-ext\r\n"));
    assert!(
        text.ends_with("\r\nOrigin: https://o\r\nX-Token: abc\r\n\r\n"),
        "{text}"
    );
}

#[test]
fn invalid_request_is_refused_up_front() {
    let request = Request::get("ftp://example.com/").body(()).unwrap();
    let err = ClientUpgrade::new(request, ClientConfig::default()).unwrap_err();
    assert!(matches!(
        handshake_error(err),
        HandshakeError::InvalidUri(_)
    ));
}

#[test]
fn frames_in_the_same_packet_as_the_101_reach_the_session() {
    let mut upgrade = upgrade(ClientConfig::default());
    let mut bytes = switching(&upgrade, "");
    bytes.extend_from_slice(&server_frames());
    let ClientUpgraded {
        response, session, ..
    } = upgrade.receive(&bytes).unwrap().unwrap();
    let mut session = session;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(session.role(), Role::Client);
    assert_eq!(
        events(&mut session),
        [
            Ok(Event::Message(Message::text("hello"))),
            Ok(Event::Message(Message::ping(&b"p"[..]))),
        ]
    );
    // The ping was answered: a masked pong is queued.
    assert!(session.has_pending_output());
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_events() {
    let mut upgrade = upgrade(ClientConfig::default());
    let mut bytes = switching(&upgrade, "");
    bytes.extend_from_slice(&server_frames());
    let mut session: Option<Session> = None;
    for byte in &bytes {
        match &mut session {
            Some(session) => session.receive(std::time::Instant::now(), std::slice::from_ref(byte)),
            None => {
                session = upgrade
                    .receive(std::slice::from_ref(byte))
                    .unwrap()
                    .map(|u| u.session)
            }
        }
    }
    let mut session = session.unwrap();
    assert_eq!(
        events(&mut session),
        [
            Ok(Event::Message(Message::text("hello"))),
            Ok(Event::Message(Message::ping(&b"p"[..]))),
        ]
    );
}

#[test]
fn negotiated_extension_and_subprotocol_are_handed_over() {
    let mut config = ClientConfig::default();
    config.subprotocols = vec!["a".into(), "b".into()];
    config.extensions = vec![Dummy::new("x-ext").arc()];
    config.session.max_frame_size = 1234;
    let mut upgrade = upgrade(config);
    let bytes = switching(
        &upgrade,
        "Sec-WebSocket-Protocol: b\r\nSec-WebSocket-Extensions: x-ext\r\n",
    );
    let upgraded = upgrade.receive(&bytes).unwrap().unwrap();
    assert_eq!(upgraded.subprotocol.as_deref(), Some("b"));
    assert_eq!(
        upgraded.session.extension().map(|e| e.name()),
        Some("x-ext")
    );
    assert_eq!(upgraded.session.config().max_frame_size, 1234);
}

#[test]
fn non_101_fails_once_its_body_is_complete() {
    let mut upgrade = upgrade(ClientConfig::default());
    assert!(
        upgrade
            .receive(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno")
            .unwrap()
            .is_none()
    );
    let err = handshake_error(upgrade.receive(b"pe").unwrap_err());
    assert!(
        matches!(err, HandshakeError::UpgradeFailed { status: StatusCode::UNAUTHORIZED, ref body, .. } if body == "nope")
    );
    assert_eq!(
        err.to_string(),
        "the server answered 401 Unauthorized instead of 101 Switching Protocols"
    );
}

#[test]
fn non_101_without_length_fails_at_eof() {
    let mut upgrade = upgrade(ClientConfig::default());
    assert!(
        upgrade
            .receive(b"HTTP/1.1 503 Busy\r\n\r\ntry later")
            .unwrap()
            .is_none()
    );
    let err = handshake_error(upgrade.receive_eof());
    assert!(
        matches!(err, HandshakeError::UpgradeFailed { status: StatusCode::SERVICE_UNAVAILABLE, ref body, .. } if body == "try later")
    );
}

#[test]
fn eof_before_the_response_is_unexpected() {
    let mut upgrade = upgrade(ClientConfig::default());
    assert!(matches!(upgrade.receive_eof(), Error::UnexpectedEof));
}

#[test]
fn invalid_101_is_an_error() {
    let mut upgrade = upgrade(ClientConfig::default());
    let bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
    assert!(matches!(
        handshake_error(upgrade.receive(bytes).unwrap_err()),
        HandshakeError::InvalidAccept
    ));
    assert!(matches!(upgrade.receive(b"").unwrap_err(), Error::Finished));
}
