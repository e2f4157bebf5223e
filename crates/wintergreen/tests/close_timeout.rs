#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Closing against a peer that never reads: `close()` and `Sink::close` end at the close
//! timeout (RFC 6455 §7.1.1: then the endpoint drops the connection), and what is still
//! queued for that peer does not hold the transport open.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wintergreen::{CloseCode, Message, ServerOptions};

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A server WebSocket whose client sent its upgrade and never reads again, with `close_timeout`
/// 100 ms, and its socket buffers filled: its last send is still pending (bounded tries).
async fn stuck_server() -> (wintergreen::WebSocketStream<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut peer = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    peer.write_all(REQUEST.as_bytes()).await.unwrap(); // and never reads again
    let (tcp, _) = listener.accept().await.unwrap();
    let mut options = ServerOptions::default();
    options.session.close_timeout = Duration::from_millis(100);
    let (mut ws, _) = wintergreen::accept_with(tcp, &options).await.unwrap();
    let payload = wintergreen::bytes::Bytes::from(vec![0u8; 1 << 16]);
    let mut stuck = false;
    for _ in 0..4096 {
        let send = ws.send(Message::binary(payload.clone()));
        if tokio::time::timeout(Duration::from_millis(100), send)
            .await
            .is_err()
        {
            stuck = true;
            break;
        }
    }
    assert!(stuck, "the peer's socket never filled");
    (ws, peer)
}

#[tokio::test]
async fn close_against_a_peer_that_never_reads_ends_at_the_close_timeout() {
    let (mut ws, _peer) = stuck_server().await;
    let closed =
        tokio::time::timeout(Duration::from_secs(5), ws.close(CloseCode::NORMAL, "")).await;
    let result = closed.expect("close() outlived the 100 ms close timeout by 5 s");
    let err = result.expect_err("the close handshake cannot have finished");
    assert!(err.to_string().contains("did not finish in time"), "{err}");
    // The connection is over: nothing queued for the peer holds it open.
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(matches!(next, Ok(None)), "{next:?}");
}

#[tokio::test]
async fn sink_close_against_a_peer_that_never_reads_ends_at_the_close_timeout() {
    let (mut ws, _peer) = stuck_server().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), SinkExt::close(&mut ws)).await;
    assert!(
        closed.is_ok(),
        "Sink::close outlived the 100 ms close timeout by 5 s"
    );
    // The reader learns why.
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    let Ok(Some(Err(err))) = next else {
        panic!("expected the close timeout, got {next:?}");
    };
    assert!(err.to_string().contains("did not finish in time"), "{err}");
}

#[tokio::test]
async fn split_writer_close_ends_at_the_close_timeout_and_the_reader_learns_why() {
    let (ws, _peer) = stuck_server().await;
    let (mut reader, mut writer) = ws.split();
    // The reader waits on the transport (no timer is armed yet when it starts).
    let reading = tokio::spawn(async move { reader.next().await });
    tokio::task::yield_now().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), SinkExt::close(&mut writer)).await;
    assert!(
        closed.is_ok(),
        "the split writer's close outlived the 100 ms close timeout by 5 s"
    );
    let read = tokio::time::timeout(Duration::from_secs(5), reading).await;
    let Ok(Ok(Some(Err(err)))) = read else {
        panic!("expected the reader to report the close timeout, got {read:?}");
    };
    assert!(err.to_string().contains("did not finish in time"), "{err}");
}
