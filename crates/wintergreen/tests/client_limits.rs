#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Bounds the client keeps against a misbehaving server, over real loopback TCP: a refusal
//! whose body does not end within the handshake timeout is still reported as the refusal,
//! with its status and the body so far.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wintergreen::{ClientBuilder, ConnectError};

const LIMIT: Duration = Duration::from_secs(20);

/// A server that reads the request head, writes `answer`, and keeps the connection open
/// (reading nothing more) until the test ends.
async fn answering(answer: &'static str) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, until_done) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if tcp.read(&mut byte).await.unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        tcp.write_all(answer.as_bytes()).await.unwrap();
        let _ = tokio::time::timeout(LIMIT, until_done).await;
    });
    (addr, done)
}

/// How a connect with a 200 ms handshake timeout fails.
async fn connect_error(addr: SocketAddr) -> ConnectError {
    let connect = ClientBuilder::new(format!("ws://{addr}/"))
        .handshake_timeout(Duration::from_millis(200))
        .connect();
    let result = tokio::time::timeout(LIMIT, connect).await.unwrap();
    result.map(|_| ()).unwrap_err()
}

/// A refusal whose body has no length and whose connection stays open, one whose body is
/// shorter than its `Content-Length`, and a chunked one without its last chunk: each ends
/// at the handshake timeout as `Refused`, with the status and what arrived of the body.
#[tokio::test]
async fn a_refusal_whose_body_does_not_end_is_reported_as_the_refusal_at_the_timeout() {
    let answers = [
        "HTTP/1.1 403 Forbidden\r\n\r\nno",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nno",
        "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n",
    ];
    for answer in answers {
        let (addr, done) = answering(answer).await;
        let err = connect_error(addr).await;
        match err {
            ConnectError::Refused { status, body, .. } => {
                assert_eq!(status, 403, "{answer:?}");
                assert_eq!(&body[..], b"no", "{answer:?}");
            }
            other => panic!("{answer:?}: expected the refusal, got {other:?}"),
        }
        let _ = done.send(());
    }
}

/// Before the status line there is nothing to report but the timeout.
#[tokio::test]
async fn a_server_silent_after_part_of_its_head_is_a_handshake_timeout() {
    let (addr, done) = answering("HTTP/1.1 403 Forb").await;
    let err = connect_error(addr).await;
    assert!(
        matches!(
            err,
            ConnectError::Timeout(wintergreen::TimeoutKind::Handshake)
        ),
        "{err:?}"
    );
    let _ = done.send(());
}
