#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The driver writes output of several chunks (a server's large payloads, queued by
//! reference) over transports that write vectored, that do not, and that take one byte
//! at a time: the peer receives the same messages either way.

mod common;

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use common::TestRuntime;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf, duplex};
use tokio::time::timeout;
use wintergreen_codec::{Config, Role, Session};
use wintergreen_stream::{Message, StreamConfig, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(20);

/// A pipe end that writes at most `max` bytes a call, vectored or not, counting the
/// vectored calls.
#[derive(Debug)]
struct Limited {
    io: DuplexStream,
    vectored: bool,
    max: usize,
    vectored_calls: Arc<AtomicUsize>,
}

impl AsyncRead for Limited {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = buf.len().min(this.max);
        Pin::new(&mut this.io).poll_write(cx, &buf[..n])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        assert!(this.vectored, "a vectored write on a transport that is not");
        this.vectored_calls.fetch_add(1, Ordering::Relaxed);
        // Gathered into one buffer, at most `max` bytes of it.
        let mut joined = Vec::new();
        for buf in bufs {
            let room = this.max - joined.len();
            joined.extend_from_slice(&buf[..buf.len().min(room)]);
        }
        Pin::new(&mut this.io).poll_write(cx, &joined)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

fn messages() -> Vec<Message> {
    let large = |len: usize, byte: u8| vec![byte; len];
    vec![
        Message::binary(large(20, b'a')),
        Message::binary(large(16 << 10, b'b')),
        Message::text("small"),
        Message::text(String::from_utf8(large(70_000, b'c')).unwrap()),
        Message::binary(large(1024, b'd')),
        Message::binary(large(1023, b'e')),
    ]
}

/// A server over `Limited` sends `messages()` (several per flush, then one by one) to a
/// client over a plain pipe end; returns the vectored write calls.
async fn server_sends(vectored: bool, max: usize) -> usize {
    let (a, b) = duplex(8 << 10);
    let calls = Arc::new(AtomicUsize::new(0));
    let io = Limited {
        io: b,
        vectored,
        max,
        vectored_calls: calls.clone(),
    };
    let mut server = WebSocketStream::from_session(
        io,
        Session::new(Role::Server, Config::default()),
        StreamConfig::default(),
        Some(Arc::new(TestRuntime)),
    );
    let mut client = WebSocketStream::from_session(
        a,
        Session::new(Role::Client, Config::default()),
        StreamConfig::default(),
        Some(Arc::new(TestRuntime)),
    );
    let expected = messages();
    let send = async {
        // Fed without a flush between them: the output holds several shared payloads.
        for message in messages() {
            server.feed(message).await.unwrap();
        }
        server.flush().await.unwrap();
        for message in messages() {
            server.send(message).await.unwrap();
        }
    };
    let receive = async {
        let mut got = Vec::new();
        while got.len() < 2 * expected.len() {
            got.push(client.next().await.unwrap().unwrap());
        }
        got
    };
    let ((), got) = timeout(LIMIT, async { tokio::join!(send, receive) })
        .await
        .unwrap();
    let twice: Vec<Message> = expected.iter().chain(&expected).cloned().collect();
    assert_eq!(got, twice);
    calls.load(Ordering::Relaxed)
}

#[tokio::test]
async fn a_vectored_transport_gets_the_chunks_in_vectored_writes() {
    assert!(server_sends(true, usize::MAX).await > 0);
}

#[tokio::test]
async fn a_transport_that_is_not_vectored_gets_one_chunk_a_write() {
    assert_eq!(server_sends(false, usize::MAX).await, 0);
}

#[tokio::test]
async fn partial_writes_cross_chunks() {
    assert!(server_sends(true, 1000).await > 0);
    assert_eq!(server_sends(false, 1000).await, 0);
}

#[tokio::test]
async fn one_byte_a_write() {
    assert!(server_sends(true, 1).await > 0);
    assert_eq!(server_sends(false, 1).await, 0);
}
