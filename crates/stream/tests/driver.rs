#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The async driver over in-memory pipes: echo, cancel safety, split halves, backpressure,
//! the close handshake and its timeout, the session's timers on the driver's sleep,
//! automatic pongs, and a ping flood that backpressure bounds.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::TestRuntime;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::timeout;
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, FrameDecoder, OpCode, Role, Rsv, Session, TimerKind,
    encode_frame,
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

/// The flood's unit: a masked client ping with the largest payload, `89 FD` + mask + 125 B.
fn client_ping() -> BytesMut {
    let mut ping = BytesMut::new();
    let mask = Some([1, 2, 3, 4]);
    encode_frame(&mut ping, true, Rsv::NONE, OpCode::Ping, mask, &[b'p'; 125]);
    ping
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
    let mut session = Config::default();
    session.max_pending_output = 16 << 10;
    let mut client = stream(a, Role::Client, session, StreamConfig::default());
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
            Err(Error::Connection(ConnectionError::TimedOut(
                TimerKind::Close
            )))
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

/// The session's keep-alive (see the fake-clock tests in `wintergreen-codec`'s
/// `session_timers.rs`) runs on the driver's one sleep: a silent peer is given up on.
#[tokio::test]
async fn the_session_keepalive_runs_on_the_driver_timer() {
    let (a, mut raw) = duplex(1024);
    let mut config = Config::default();
    config.keepalive = Some(KeepAlive::new(
        Duration::from_millis(50),
        Duration::from_millis(50),
    ));
    let mut client = stream(a, Role::Client, config, StreamConfig::default());
    // The silent peer reads our ping but never answers; it keeps the pipe open.
    let reader = tokio::spawn(async move {
        let mut buf = BytesMut::new();
        let frame = read_client_frame(&mut raw, &mut buf).await;
        (frame, raw)
    });
    let start = Instant::now();
    let result = timeout(LIMIT, client.next()).await.unwrap();
    assert!(
        matches!(
            result,
            Some(Err(Error::Connection(ConnectionError::TimedOut(
                TimerKind::KeepAlive
            ))))
        ),
        "{result:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(client.next().await.is_none(), "the stream ends");
    let ((opcode, _), _raw) = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(opcode, OpCode::Ping);
}

/// Keep-alive between two drivers: pings cross and are answered, the quiet connection
/// stays open, and neither application sees the keep-alive's own pongs.
#[tokio::test]
async fn keepalive_keeps_a_quiet_connection_open_and_hides_its_pongs() {
    let mut config = Config::default();
    config.keepalive = Some(KeepAlive::new(
        Duration::from_millis(30),
        Duration::from_millis(60),
    ));
    let (a, b) = duplex(64 << 10);
    let mut client = stream(a, Role::Client, config.clone(), StreamConfig::default());
    let mut server = stream(b, Role::Server, Config::default(), StreamConfig::default());
    let quiet = Duration::from_millis(400);
    let server_side = async {
        let end = tokio::time::Instant::now() + quiet;
        let mut pings = 0;
        loop {
            match tokio::time::timeout_at(end, server.next()).await {
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Err(_elapsed) => return pings,
                Ok(other) => panic!("the server saw {other:?}"),
            }
        }
    };
    let (client_saw, pings) = tokio::join!(timeout(quiet, client.next()), server_side);
    assert!(
        client_saw.is_err(),
        "nothing reaches the client app: {client_saw:?}"
    );
    assert!(pings >= 3, "{pings} keep-alive pings in {quiet:?}");
    assert_eq!(client.session().state(), wintergreen_codec::State::Open);
}

/// Issue 11, defect 1: a peer floods pings and never reads. The driver stops reading once
/// the pongs it owes are over the session's `max_pending_output`, so the pipe fills and
/// the peer's writes block, while the application keeps calling `next()`.
#[tokio::test]
async fn a_ping_flood_from_a_peer_that_never_reads_keeps_the_driver_bounded() {
    const PIPE: usize = 64 << 10;
    let (a, mut raw) = duplex(PIPE);
    let config = Config::default();
    let limit = config.max_pending_output;
    let mut server = stream(a, Role::Server, config, StreamConfig::default());
    let ping = client_ping();
    let flooder = tokio::spawn(async move {
        let batch = ping.repeat(64);
        for _ in 0..4_000 {
            // 256,000 pings, 33 MB: far more than any bound.
            if raw.write_all(&batch).await.is_err() {
                break;
            }
        }
        raw
    });
    let mut pings = 0usize;
    loop {
        match timeout(Duration::from_millis(300), server.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            // No more progress: the driver stopped reading, the peer is blocked.
            Err(_) => break,
        }
        let session = server.session();
        assert!(session.pending_output().len() <= limit + 131);
    }
    let session = server.session();
    assert!(session.pending_output().len() <= limit + 131);
    assert!(
        session.buffered_input() <= StreamConfig::default().read_buffer_size * 2,
        "{} bytes buffered",
        session.buffered_input()
    );
    assert!(!flooder.is_finished(), "the flooding peer is blocked");
    assert!(
        pings < 10_000,
        "{pings} pings read: reading should pause at the bound"
    );
    flooder.abort();
}

/// Reading pauses while the peer's answers are unread, and resumes once they leave, even
/// when the split writer half is the one that writes them out.
#[tokio::test]
async fn a_split_reader_paused_by_a_flood_resumes_as_the_peer_reads() {
    const PINGS: usize = 3_000;
    let (a, raw) = duplex(16 << 10);
    let mut config = Config::default();
    config.max_pending_output = 8 << 10;
    let server = stream(a, Role::Server, config, StreamConfig::default());
    let (mut rx, mut tx) = server.split();
    let (mut raw_rx, mut raw_tx) = tokio::io::split(raw);
    let ping = client_ping();
    let flood = tokio::spawn(async move {
        raw_tx.write_all(&ping.repeat(PINGS)).await.unwrap();
        raw_tx
    });
    // The peer reads, slowly, everything we send.
    let slow_reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            match raw_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let writer = tokio::spawn(async move {
        for i in 0..200 {
            if tx.send(Message::text(format!("tick {i}"))).await.is_err() {
                break;
            }
        }
        tx
    });
    // Without a wake from the writer half the reader stalls for seconds; with it, the
    // whole exchange takes a fraction of one.
    let read_all = async {
        for _ in 0..PINGS {
            match rx.next().await {
                Some(Ok(Message::Ping(_))) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    timeout(Duration::from_secs(5), read_all)
        .await
        .expect("the reader resumes as the answers leave");
    let _tx = timeout(LIMIT, writer).await.unwrap().unwrap();
    let _raw_tx = flood.await.unwrap();
    slow_reader.abort();
}

/// Pausing reads on a full queue must not deadlock two peers that send large messages to
/// each other at once: only output the peer provoked pauses reading.
#[tokio::test]
async fn large_messages_both_ways_at_once_do_not_deadlock() {
    let (client, server) = pair();
    let big = vec![7u8; 4 << 20];
    let (mut client_rx, mut client_tx) = client.split();
    let (mut server_rx, mut server_tx) = server.split();
    let run = async {
        tokio::join!(
            client_tx.send(Message::binary(big.clone())),
            server_tx.send(Message::binary(big.clone())),
            client_rx.next(),
            server_rx.next(),
        )
    };
    let (sent_c, sent_s, got_c, got_s) = timeout(LIMIT, run).await.expect("no deadlock");
    sent_c.unwrap();
    sent_s.unwrap();
    assert_eq!(got_c.unwrap().unwrap(), Message::binary(big.clone()));
    assert_eq!(got_s.unwrap().unwrap(), Message::binary(big));
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

/// Autobahn case 4.1.5's shape (RFC 6455 §7.1.7 with §7.1.1): a message, then a frame
/// that fails the connection while the client is still sending. The server answers the
/// message, sends its close, ends its half (the client reads its end), and reads on,
/// dropping what comes, until the client ends its own: a server that dropped its socket
/// at once would answer the client's next bytes with a TCP reset, and a reset can make the
/// client lose the echo and the close it has not read yet.
#[tokio::test]
async fn a_failing_server_ends_its_half_and_reads_on_until_the_clients_end() {
    let (a, mut raw) = duplex(1024);
    let mut server = stream(a, Role::Server, Config::default(), StreamConfig::default());
    let mask = Some([1, 2, 3, 4]);
    let mut input = BytesMut::new();
    encode_frame(&mut input, true, Rsv::NONE, OpCode::Text, mask, b"hi");
    let reserved = input.len();
    encode_frame(&mut input, true, Rsv::NONE, OpCode::Text, mask, b"bad");
    input[reserved] = 0x87; // FIN, reserved opcode 7
    raw.write_all(&input).await.unwrap();

    let got = timeout(LIMIT, server.next()).await.unwrap().unwrap();
    assert_eq!(got.unwrap(), Message::text("hi"));
    timeout(LIMIT, server.send(Message::text("hi")))
        .await
        .unwrap()
        .unwrap();
    let failed = timeout(LIMIT, server.next()).await.unwrap();
    assert!(
        matches!(
            failed,
            Some(Err(Error::Connection(ConnectionError::Protocol(_))))
        ),
        "{failed:?}"
    );

    // Polled on, the server ends its half and waits for the client's end.
    assert!(
        server.next().now_or_never().is_none(),
        "the server lingers until the client's end"
    );
    // The client reads the echo, the close, then the server's end of its half.
    let mut buf = BytesMut::new();
    let mut decoder = FrameDecoder::new(1 << 20);
    let mut frames = Vec::new();
    loop {
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            frames.push((frame.header.opcode, frame.payload.to_vec()));
        }
        let n = timeout(LIMIT, raw.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
    }
    assert_eq!(
        frames,
        vec![
            (OpCode::Text, b"hi".to_vec()),
            (OpCode::Close, 1002u16.to_be_bytes().to_vec()),
        ]
    );

    // The server still reads: the client's late bytes are taken and dropped unread (no
    // pong for this ping), and the stream has not ended.
    raw.write_all(&client_ping()).await.unwrap();
    assert!(
        server.next().now_or_never().is_none(),
        "the server still lingers"
    );
    assert!(
        matches!(raw.read_buf(&mut buf).now_or_never(), Some(Ok(0))),
        "nothing more comes from the server, whose half stays ended"
    );
    raw.shutdown().await.unwrap();
    assert!(timeout(LIMIT, server.next()).await.unwrap().is_none());
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
