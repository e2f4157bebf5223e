//! Property tests: no bytes make the upgrades panic; any split gives the same events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers

mod common;

use common::events;
use http::Request;
use proptest::prelude::*;
use wintergreen_codec::{Config, Role, Session};
use wintergreen_handshake::accept_key;
use wintergreen_http1::{ClientConfig, ClientUpgrade, ServerConfig, ServerUpgrade, ServerUpgraded};

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
    config.limits.max_header_bytes = 1024;
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
