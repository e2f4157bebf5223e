#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The async driver over in-memory pipes: echo, cancel safety, split halves, backpressure,
//! the close handshake and its timeout, keep-alive and automatic pongs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::TestRuntime;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::timeout;
use wintergreen_codec::{
    CloseCode, Config, FrameDecoder, OpCode, Role, Rsv, Session, encode_frame,
};
use wintergreen_stream::{Error, KeepAlive, Message, StreamConfig, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(10);

fn stream(
    io: DuplexStream,
    role: Role,
    config: Config,
    stream: StreamConfig,
) -> WebSocketStream<DuplexStream> {
    WebSocketStream::from_session(
        io,
        Session::new(role, config),
        stream,
        Some(Arc::new(TestRuntime)),
    )
}

fn pair() -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
    let (a, b) = duplex(64 << 10);
    (
        stream(a, Role::Client, Config::default(), StreamConfig::default()),
        stream(b, Role::Server, Config::default(), StreamConfig::default()),
    )
}

/// A server frame as raw bytes (unmasked).
fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, true, Rsv::NONE, opcode, None, payload);
    out.to_vec()
}

/// Reads raw client frames from the other end of the pipe.
async fn read_client_frame(io: &mut DuplexStream, buf: &mut BytesMut) -> (OpCode, Vec<u8>) {
    let mut decoder = FrameDecoder::new(1 << 20);
    loop {
        if let Some(frame) = decoder.decode(buf).unwrap() {
            assert!(frame.header.mask.is_some(), "client frames are masked");
            return (frame.header.opcode, frame.payload.to_vec());
        }
        let n = timeout(LIMIT, io.read_buf(buf)).await.unwrap().unwrap();
        assert!(n > 0, "pipe closed while waiting for a frame");
    }
}

#[tokio::test]
async fn messages_cross_both_ways() {
    let (mut client, mut server) = pair();
    client.send(Message::text("ping?")).await.unwrap();
    let got = timeout(LIMIT, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("ping?"));
    server.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let got = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::binary(vec![1, 2, 3]));
}

#[tokio::test]
async fn dropping_a_pending_next_loses_no_data() {
    let (a, mut raw) = duplex(1024);
    let mut client = stream(a, Role::Client, Config::default(), StreamConfig::default());
    let frame = server_frame(OpCode::Text, b"whole message");
    // Nothing yet: the read is cancelled while pending.
    assert!(
        timeout(Duration::from_millis(20), client.next())
            .await
            .is_err()
    );
    // Half the frame arrives; cancel again mid-frame.
    raw.write_all(&frame[..7]).await.unwrap();
    assert!(
        timeout(Duration::from_millis(20), client.next())
            .await
            .is_err()
    );
    raw.write_all(&frame[7..]).await.unwrap();
    let got = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("whole message"));
}

#[tokio::test]
async fn split_halves_work_from_two_tasks_at_once() {
    let (client, mut server) = pair();
    let (mut reader, mut writer) = client.split();
    const N: usize = 500;
    let echo = tokio::spawn(async move {
        for _ in 0..N {
            let message = server.next().await.unwrap().unwrap();
            server.send(message).await.unwrap();
        }
        server
    });
    let read = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < N {
            got.push(reader.next().await.unwrap().unwrap());
        }
        got
    });
    for i in 0..N {
        writer
            .send(Message::text(format!("message {i}")))
            .await
            .unwrap();
    }
    let got = timeout(LIMIT, read).await.unwrap().unwrap();
    assert_eq!(got.len(), N);
    assert_eq!(got[N - 1], Message::text(format!("message {}", N - 1)));
    timeout(LIMIT, echo).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_full_write_buffer_pushes_back() {
    // Nobody reads the other end: the pipe fills, then the write buffer.
    let (a, _raw) = duplex(4096);
    let mut config = StreamConfig::default();
    config.max_write_buffer = 16 << 10;
    let mut client = stream(a, Role::Client, Config::default(), config);
    let chunk = vec![0u8; 1024];
    let mut sent = 0;
    let blocked = timeout(Duration::from_millis(200), async {
        loop {
            client.feed(Message::binary(chunk.clone())).await.unwrap();
            sent += 1;
        }
    })
    .await;
    assert!(
        blocked.is_err(),
        "sending must wait once the buffer is full"
    );
    assert!(client.session().pending_output().len() <= (16 << 10) + 1024 + 14);
    assert!(
        sent < 40,
        "sent {sent} messages into a 4 KiB pipe and a 16 KiB buffer"
    );
}

#[tokio::test]
async fn close_handshake_ends_both_streams() {
    let (mut client, mut server) = pair();
    let closing = tokio::spawn(async move {
        client.close(CloseCode::NORMAL, "bye").await.unwrap();
        client
    });
    let got = timeout(LIMIT, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::close(CloseCode::NORMAL, "bye"));
    assert!(
        timeout(LIMIT, server.next()).await.unwrap().is_none(),
        "server stream ends"
    );
    let mut client = timeout(LIMIT, closing).await.unwrap().unwrap();
    assert!(
        client.next().await.is_none(),
        "client stream ended after the server closed TCP"
    );
}

#[tokio::test]
async fn unanswered_close_times_out() {
    let (a, _raw) = duplex(1024);
    let mut config = Config::default();
    config.close_timeout = Duration::from_millis(100);
    let mut client = stream(a, Role::Client, config, StreamConfig::default());
    let start = Instant::now();
    let result = timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap();
    assert!(
        matches!(
            result,
            Err(Error::Connection(
                wintergreen_codec::ConnectionError::CloseTimeout
            ))
        ),
        "{result:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn pings_are_answered_automatically() {
    let (a, mut raw) = duplex(1024);
    let mut client = stream(a, Role::Client, Config::default(), StreamConfig::default());
    raw.write_all(&server_frame(OpCode::Ping, b"are you there"))
        .await
        .unwrap();
    let got = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::ping(&b"are you there"[..]));
    let mut buf = BytesMut::new();
    assert_eq!(
        read_client_frame(&mut raw, &mut buf).await,
        (OpCode::Pong, b"are you there".to_vec())
    );
}

#[tokio::test]
async fn keepalive_pings_then_gives_up_on_a_silent_peer() {
    let (a, mut raw) = duplex(1024);
    let mut config = StreamConfig::default();
    config.keepalive = Some(KeepAlive::new(
        Duration::from_millis(50),
        Duration::from_millis(50),
    ));
    let mut client = stream(a, Role::Client, Config::default(), config);
    // The silent peer reads our ping but never answers; it keeps the pipe open.
    let reader = tokio::spawn(async move {
        let mut buf = BytesMut::new();
        let frame = read_client_frame(&mut raw, &mut buf).await;
        (frame, raw)
    });
    let result = timeout(LIMIT, client.next()).await.unwrap();
    assert!(
        matches!(result, Some(Err(Error::KeepAliveTimeout))),
        "{result:?}"
    );
    let ((opcode, _), _raw) = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(opcode, OpCode::Ping);
}

#[tokio::test]
async fn eof_before_close_is_an_abnormal_closure() {
    let (a, raw) = duplex(1024);
    let mut client = stream(a, Role::Client, Config::default(), StreamConfig::default());
    drop(raw);
    let result = timeout(LIMIT, client.next()).await.unwrap();
    assert!(
        matches!(
            result,
            Some(Err(Error::Connection(
                wintergreen_codec::ConnectionError::AbnormalClosure
            )))
        ),
        "{result:?}"
    );
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn protocol_error_is_reported_and_the_close_code_sent() {
    let (a, mut raw) = duplex(1024);
    let mut client = stream(a, Role::Client, Config::default(), StreamConfig::default());
    raw.write_all(&[0x83, 0x00]).await.unwrap(); // reserved opcode 3
    let result = timeout(LIMIT, client.next()).await.unwrap();
    assert!(
        matches!(result, Some(Err(Error::Connection(_)))),
        "{result:?}"
    );
    let mut buf = BytesMut::new();
    let (opcode, payload) = read_client_frame(&mut raw, &mut buf).await;
    assert_eq!(opcode, OpCode::Close);
    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
}

#[tokio::test]
async fn caller_driven_fragments_arrive_as_one_message() {
    let (mut client, mut server) = pair();
    client
        .send_fragment(wintergreen_stream::DataKind::Text, b"frag", false)
        .await
        .unwrap();
    client.send(Message::ping(&b"between"[..])).await.unwrap();
    client
        .send_fragment(wintergreen_stream::DataKind::Text, b"mented", true)
        .await
        .unwrap();
    let ping = timeout(LIMIT, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ping, Message::ping(&b"between"[..]));
    let got = timeout(LIMIT, server.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("fragmented"));
}
