#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The keep-alive's own pongs are the driver's: they are not yielded to the application
//! unless it asks (the session's `Config::yield_keepalive_pongs`); other pongs always are.
//! The session decides (see the codec's tests); this checks the driver passes it through.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use common::TestRuntime;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::timeout;
use wintergreen_codec::{Config, OpCode, Role, Rsv, Session, encode_frame};
use wintergreen_stream::{KeepAlive, Message, StreamConfig, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(10);

/// Reads one masked client frame with a short payload; returns its opcode byte and the
/// unmasked payload.
async fn read_client_frame(raw: &mut DuplexStream) -> (u8, Vec<u8>) {
    let mut head = [0_u8; 2];
    raw.read_exact(&mut head).await.unwrap();
    let len = usize::from(head[1] & 0x7f);
    assert!(len < 126);
    let mut mask = [0_u8; 4];
    raw.read_exact(&mut mask).await.unwrap();
    let mut payload = vec![0_u8; len];
    raw.read_exact(&mut payload).await.unwrap();
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    (head[0], payload)
}

fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, Rsv::NONE, opcode, None, payload);
    out.to_vec()
}

/// A client with keep-alive whose peer answers the first ping, then sends its own pong and
/// a text: returns what the client yields, in order, up to the text.
async fn yielded(yield_keepalive_pongs: bool) -> Vec<Message> {
    let (a, mut raw) = duplex(4096);
    let config = StreamConfig::default();
    let mut session_config = Config::default();
    session_config.keepalive = Some(KeepAlive::new(
        Duration::from_millis(30),
        Duration::from_secs(5),
    ));
    session_config.yield_keepalive_pongs = yield_keepalive_pongs;
    let session = Session::new(Role::Client, session_config);
    let mut client = WebSocketStream::from_session(a, session, config, Some(Arc::new(TestRuntime)));
    let peer = tokio::spawn(async move {
        let (opcode, payload) = read_client_frame(&mut raw).await;
        assert_eq!(opcode, 0x89, "a ping");
        raw.write_all(&server_frame(OpCode::Pong, &payload))
            .await
            .unwrap();
        raw.write_all(&server_frame(OpCode::Pong, b"unsolicited"))
            .await
            .unwrap();
        raw.write_all(&server_frame(OpCode::Text, b"after"))
            .await
            .unwrap();
        raw
    });
    let mut seen = Vec::new();
    loop {
        let message = timeout(LIMIT, client.next_message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let done = matches!(message, Message::Text(_));
        seen.push(message);
        if done {
            break;
        }
    }
    drop(timeout(LIMIT, peer).await.unwrap().unwrap());
    seen
}

#[tokio::test]
async fn keepalive_pongs_are_not_yielded_by_default() {
    let seen = yielded(false).await;
    assert_eq!(
        seen,
        vec![Message::pong(&b"unsolicited"[..]), Message::text("after")]
    );
}

#[tokio::test]
async fn keepalive_pongs_are_yielded_when_asked() {
    let seen = yielded(true).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(matches!(&seen[0], Message::Pong(payload) if !payload.is_empty()));
}
