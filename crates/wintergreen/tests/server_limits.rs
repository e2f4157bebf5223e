#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Limits the server enforces against a misbehaving client, over real loopback TCP: an
//! oversized handshake is answered 431 and the connection closed; a slowloris trickle of
//! header bytes is cut off by the handshake timeout; an unmasked client frame is answered
//! with a 1002 close; a refused request keeps its typed error when the client keeps the
//! connection open past the handshake timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use wintergreen::{ConnectError, ServerOptions, TimeoutKind, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(20);

const REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: 127.0.0.1\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

type Accepted = Result<(WebSocketStream<TcpStream>, http::Request<()>), ConnectError>;

/// Accepts one connection with `options`; the accept's result comes back on the channel.
async fn one_shot_server(options: ServerOptions) -> (SocketAddr, oneshot::Receiver<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = tx.send(wintergreen::accept_with(tcp, &options).await);
    });
    (addr, rx)
}

/// The accept's error, which a refused connection must end with.
async fn refusal(accepted: oneshot::Receiver<Accepted>) -> ConnectError {
    let result = tokio::time::timeout(LIMIT, accepted)
        .await
        .unwrap()
        .unwrap();
    result.map(|_| ()).unwrap_err()
}

/// Reads until the server closes the connection (EOF or reset), bounded.
async fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(LIMIT, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open"),
        }
    }
}

#[tokio::test]
async fn an_oversized_handshake_is_answered_431_and_closed() {
    let (addr, accepted) = one_shot_server(ServerOptions::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // 16 KiB is the default limit on the request head; send 64 KiB of one header field.
    let mut request = String::from("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    request.push_str(&format!("X-Padding: {}\r\n", "a".repeat(64 << 10)));
    request.push_str("\r\n");
    // The server may stop reading (and close) before all of it is written.
    let _ = tcp.write_all(request.as_bytes()).await;
    let answer = read_to_close(&mut tcp).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    let err = refusal(accepted).await;
    assert!(
        matches!(
            err,
            ConnectError::Http1(wintergreen::http1::Error::HeadTooLarge { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_slowloris_header_trickle_is_cut_off_by_the_handshake_timeout() {
    let mut options = ServerOptions::default();
    options.accept.handshake_timeout = Duration::from_millis(300);
    let (addr, accepted) = one_shot_server(options).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    // One byte every 20 ms: the whole request would take about 3.5 s.
    let trickle = async {
        for byte in REQUEST.as_bytes() {
            if tcp.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let result = tokio::select! {
        result = accepted => result.unwrap(),
        () = trickle => panic!("the whole request was sent before the server gave up"),
    };
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(ConnectError::Timeout(TimeoutKind::Handshake))),
        "{:?}",
        result.map(|_| ())
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The server dropped the connection: nothing was answered.
    let answer = read_to_close(&mut tcp).await;
    assert!(answer.is_empty(), "{answer:?}");
}

#[tokio::test]
async fn an_unmasked_client_frame_is_answered_with_a_1002_close() {
    let (addr, accepted) = one_shot_server(ServerOptions::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(REQUEST.as_bytes()).await.unwrap();
    let mut ws = tokio::time::timeout(LIMIT, accepted)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .0;
    // Read the 101 head.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    // An unmasked text frame "hi" (RFC 6455 §5.1: a server must close on it).
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let server = tokio::spawn(async move {
        let mut last = None;
        while let Some(item) = ws.next_message().await {
            last = Some(item);
        }
        last
    });
    let answer = read_to_close(&mut tcp).await;
    // A close frame, unmasked (the server never masks), with code 1002.
    assert!(answer.len() >= 4, "{answer:?}");
    assert_eq!(answer[0], 0x88, "{answer:?}");
    assert_eq!(answer[1] & 0x80, 0, "a server frame must not be masked");
    assert_eq!(u16::from_be_bytes([answer[2], answer[3]]), 1002);
    // The server's stream reports the protocol error, and no message was delivered.
    let last = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    match last {
        Some(Err(wintergreen::Error::Connection(err))) => {
            assert!(err.to_string().to_lowercase().contains("mask"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

/// A plain `GET` (no `Upgrade`), from a client that reads the answer but keeps its side open.
const PLAIN_GET: &str = "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Reads the server's answer up to the end of its head.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(LIMIT, tcp.read(&mut byte)).await;
        assert_eq!(read.unwrap().unwrap(), 1, "{head:?}");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The handshake timeout (here shorter than the second the server spends reading what a
/// refused client still sends) must not turn the refusal into a timeout: the caller learns
/// that the request lacked `Upgrade`, not that the client was slow.
#[tokio::test]
async fn a_refused_request_keeps_its_error_when_the_client_stays_past_the_timeout() {
    let mut options = ServerOptions::default();
    options.accept.handshake_timeout = Duration::from_millis(200);
    let (addr, accepted) = one_shot_server(options).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(PLAIN_GET.as_bytes()).await.unwrap();
    assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 400 "));
    let err = refusal(accepted).await;
    assert!(
        matches!(
            err,
            ConnectError::Handshake(wintergreen::handshake::HandshakeError::MissingUpgrade)
        ),
        "{err:?}"
    );
    drop(tcp);
}

/// The same through `ServerBuilder::listen`, whose failed connections come with their peer:
/// bytes that cannot be HTTP stay a malformed request.
#[tokio::test]
async fn the_listener_reports_a_refused_connection_by_its_request_not_as_a_timeout() {
    let mut listener = wintergreen::ServerBuilder::new()
        .handshake_timeout(Duration::from_millis(200))
        .listen("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut tcp = TcpStream::connect(listener.local_addr()).await.unwrap();
    // The first bytes of a TLS ClientHello on a plain port.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00]).await.unwrap();
    assert!(read_head(&mut tcp).await.starts_with("HTTP/1.1 400 "));
    let failed = tokio::time::timeout(LIMIT, listener.accept())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(failed.peer, Some(tcp.local_addr().unwrap()));
    assert!(
        matches!(
            failed.error,
            ConnectError::Http1(wintergreen::http1::Error::Malformed(
                wintergreen::http1::ParseError::NotHttp
            ))
        ),
        "{failed:?}"
    );
    drop(tcp);
}
