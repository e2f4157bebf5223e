#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What the driver holds and how it writes: an idle connection keeps no buffer (issue 15,
//! memory per connection), and a burst of messages fed before one flush leaves in one write.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use common::{CountingIo, stream};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use tokio::io::{AsyncWriteExt as _, duplex};
use tokio::time::timeout;
use wintergreen_codec::{OpCode, Role, Rsv, encode_frame};
use wintergreen_stream::Message;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_burst_fed_before_one_flush_leaves_in_one_write() {
    let (a, b) = duplex(64 << 10);
    let writes = Arc::new(AtomicUsize::new(0));
    let io = CountingIo {
        io: a,
        writes: Arc::clone(&writes),
    };
    let mut client = stream(io, Role::Client);
    let mut server = stream(b, Role::Server);
    for i in 0..32u8 {
        client.feed(Message::binary(vec![i; 20])).await.unwrap();
    }
    assert_eq!(writes.load(Ordering::Relaxed), 0, "feed only queues");
    client.flush().await.unwrap();
    assert_eq!(writes.load(Ordering::Relaxed), 1, "the burst in one write");
    for i in 0..32u8 {
        let got = timeout(LIMIT, server.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got, Message::binary(vec![i; 20]));
    }
}

/// The output buffer an idle session may keep (`Session::release_idle_buffers`); the
/// 64 KiB read buffer is far above it.
const IDLE_KEPT: usize = 1024;

#[tokio::test]
async fn an_idle_connection_keeps_no_buffer() {
    let (a, b) = duplex(64 << 10);
    let mut client = stream(a, Role::Client);
    let mut server = stream(b, Role::Server);
    client.send(Message::text("hello")).await.unwrap();
    let got = timeout(LIMIT, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("hello"));
    // The last buffered message went out: nothing is kept for the next one (but a small
    // output buffer: at most 1 KiB, the session's own bound).
    assert!(server.session().buffer_capacity() <= IDLE_KEPT);
    server.send(got).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::text("hello")
    );
    assert!(client.session().buffer_capacity() <= IDLE_KEPT);
    // Nothing to read: still nothing kept.
    assert!(server.next().now_or_never().is_none());
    assert!(server.session().buffer_capacity() <= IDLE_KEPT);
}

#[tokio::test]
async fn a_partly_received_frame_stays_while_the_rest_is_awaited() {
    let (a, mut raw) = duplex(64 << 10);
    let mut client = stream(a, Role::Client);
    let mut frame = BytesMut::new();
    encode_frame(&mut frame, true, Rsv::NONE, OpCode::Binary, None, &[7; 300]);
    let (head, rest) = frame.split_at(100);
    raw.write_all(head).await.unwrap();
    // Let the client read the first part: it is still waiting for the rest.
    for _ in 0..100 {
        assert!(client.next().now_or_never().is_none());
        if client.session().buffered_input() > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    // The header is parsed; the payload's first bytes wait for the rest.
    assert!(client.session().buffered_input() > 0);
    assert!(client.session().buffer_capacity() >= client.session().buffered_input());
    raw.write_all(rest).await.unwrap();
    let got = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::binary(vec![7; 300]));
    assert_eq!(client.session().buffer_capacity(), 0);
}
