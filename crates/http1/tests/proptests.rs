//! Property tests: no bytes make the handshakes or upgrades panic; any split of the input
//! gives the same result and events.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

mod common;

use common::events;
use http::{HeaderMap, Request};
use proptest::prelude::*;
use wintergreen_codec::{Config, Role, Session};
use wintergreen_handshake::{AcceptPolicy, ClientRequest, HandshakeError, accept_key};
use wintergreen_http1::{
    ClientConfig, ClientHandshake, ClientUpgrade, Limits, PendingOutput, ServerConfig,
    ServerDecision, ServerHandshake, ServerUpgrade, ServerUpgraded,
};

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

fn client() -> ClientUpgrade {
    let mut config = ClientConfig::default();
    config.limits.max_head_bytes = 1024;
    config.limits.max_body_bytes = 64;
    ClientUpgrade::new(Request::get("ws://h/").body(()).unwrap(), config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn client_upgrade_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        valid_head in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut upgrade = client();
        let mut input = Vec::new();
        if valid_head {
            input.extend_from_slice(format!(
                "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(upgrade.key().as_bytes())
            ).as_bytes());
        }
        input.extend_from_slice(&bytes);
        let mut session = None;
        for chunk in chunks(&input, &cuts) {
            match &mut session {
                Some(session) => Session::receive(session, std::time::Instant::now(), &chunk),
                None => match upgrade.receive(&chunk) {
                    Ok(Some(upgraded)) => session = Some(upgraded.session),
                    Ok(None) => {}
                    Err(_) => break,
                },
            }
        }
        match &mut session {
            Some(session) => {
                let _ = events(session);
            }
            None => {
                let _ = upgrade.receive_eof();
            }
        }
    }

    #[test]
    fn server_upgrade_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut upgrade = ServerUpgrade::new(ServerConfig::default());
        for chunk in chunks(&bytes, &cuts) {
            match upgrade.receive(&chunk) {
                Ok(None) => {}
                Ok(Some(decision)) => {
                    prop_assert!(!decision.pending_output().is_empty());
                    break;
                }
                Err(_) => break,
            }
        }
        let _ = upgrade.receive_eof();
    }

    #[test]
    fn any_split_of_request_and_frames_gives_the_same_events(
        texts in proptest::collection::vec("[a-z]{0,12}", 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut client = Session::new(Role::Client, Config::default());
        for text in &texts {
            client.send_text(text).unwrap();
        }
        let mut request = client_request();
        request.extend_from_slice(client.pending_output());

        let mut upgrade = ServerUpgrade::new(ServerConfig::default());
        let mut session: Option<Session> = None;
        for chunk in chunks(&request, &cuts) {
            match &mut session {
                Some(session) => session.receive(std::time::Instant::now(), &chunk),
                None => {
                    if let Some(decision) = upgrade.receive(&chunk).unwrap() {
                        let ServerUpgraded::Accepted(mut accepted) = decision else { panic!("rejected") };
                        accepted.consume_output(usize::MAX);
                        session = Some(accepted.into_parts().unwrap().session);
                    }
                }
            }
        }
        let got: Vec<String> = events(&mut session.unwrap())
            .into_iter()
            .map(|e| match e.unwrap() {
                wintergreen_codec::Event::Message(m) => m.as_text().unwrap().to_owned(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        prop_assert_eq!(got, texts);
    }
}

fn client_request() -> Vec<u8> {
    let upgrade = ClientUpgrade::new(
        Request::get("ws://h/").body(()).unwrap(),
        ClientConfig::default(),
    )
    .unwrap();
    upgrade.pending_output().to_vec()
}

fn client_handshake() -> ClientHandshake {
    let mut limits = Limits::default();
    limits.max_head_bytes = 512;
    limits.max_headers = 8;
    limits.max_body_bytes = 64;
    ClientHandshake::new(
        ClientRequest::from_url("ws://h/", HeaderMap::new()).unwrap(),
        limits,
    )
    .unwrap()
}

fn server_handshake() -> ServerHandshake {
    let mut limits = Limits::default();
    limits.max_head_bytes = 512;
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_never_panics_on_arbitrary_bytes_and_keeps_a_bounded_refusal_body(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), heady()],
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut handshake = client_handshake();
        let mut result = Ok(None);
        for chunk in chunks(&bytes, &cuts) {
            result = handshake.receive(&chunk);
            if !matches!(result, Ok(None)) {
                break;
            }
        }
        let err = match result {
            Ok(None) => handshake.receive_eof(),
            Ok(Some(_)) => return Ok(()),
            Err(err) => err,
        };
        if let Some(HandshakeError::UpgradeFailed { body, .. }) = err.as_handshake() {
            prop_assert!(body.len() <= 64, "kept {} body bytes", body.len());
        }
    }

    #[test]
    fn server_never_panics_on_arbitrary_bytes_and_answers_in_bounded_bytes(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), heady()],
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut handshake = server_handshake();
        for chunk in chunks(&bytes, &cuts) {
            match handshake.receive(&chunk) {
                Ok(None) => {}
                Ok(Some(ServerDecision::Reject(r))) => {
                    prop_assert!(r.response_bytes.starts_with(b"HTTP/1.1 4"));
                    prop_assert!(r.response_bytes.len() < 512, "{} bytes", r.response_bytes.len());
                }
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
            Limits::default(),
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
}
