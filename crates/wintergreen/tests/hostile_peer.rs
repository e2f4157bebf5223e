#![cfg(all(feature = "http2", feature = "runtime-tokio"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Hostile peers: a peer that goes silent after the upgrade is found by the keep-alive
//! timer (HTTP/1.1 and HTTP/2, on every runtime); an HTTP/2 client that never sends its
//! preface, resets streams as fast as it opens them, opens more streams than the server
//! allows or sends a header block that never ends does not hold the server, and the server
//! still serves the next client.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{bounded, echo, serve};
use futures_util::{SinkExt, StreamExt};
use wintergreen::codec::{ConnectionError, KeepAlive, TimerKind};
use wintergreen::{ClientOptions, Error, Http2Mode, Message, ServerOptions};

/// Every test step is bounded by this; each test finishes far sooner.
const BOUND: Duration = Duration::from_secs(5);

fn keepalive_options() -> ClientOptions {
    let mut options = ClientOptions::default();
    options.session.keepalive = Some(KeepAlive::new(
        Duration::from_millis(100),
        Duration::from_millis(100),
    ));
    options
}

/// A blocking HTTP/1.1 server on its own thread that completes the upgrade (101) for one
/// client, then reads and discards everything and never writes again.
fn silent_after_upgrade() -> SocketAddr {
    raw_server("", Vec::new())
}

/// A blocking HTTP/1.1 server on its own thread that completes the upgrade (101, with
/// `extensions` as its `Sec-WebSocket-Extensions` when not empty) for one client, writes
/// `frames`, then reads and discards everything and never writes again.
fn raw_server(extensions: &'static str, frames: Vec<u8>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(BOUND)).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 << 10 {
            match tcp.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let key = text
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .unwrap();
        let accept = wintergreen::handshake::accept_key(key.as_bytes());
        let extensions = if extensions.is_empty() {
            String::new()
        } else {
            format!("Sec-WebSocket-Extensions: {extensions}\r\n")
        };
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
        );
        tcp.write_all(response.as_bytes()).unwrap();
        if tcp.write_all(&frames).is_err() {
            return;
        }
        // Read (so the client's ping is taken) but never answer; bounded in time.
        let started = std::time::Instant::now();
        while started.elapsed() < BOUND {
            match tcp.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    addr
}

fn is_keepalive_timeout(result: Option<Result<Message, Error>>) -> bool {
    matches!(
        result,
        Some(Err(Error::Connection(ConnectionError::TimedOut(
            TimerKind::KeepAlive
        ))))
    )
}

#[tokio::test]
async fn http1_keepalive_finds_a_silent_server_on_tokio() {
    let addr = silent_after_upgrade();
    let result = tokio::time::timeout(BOUND, async {
        let (mut ws, _) =
            wintergreen::tokio::connect_with(format!("ws://{addr}/"), &keepalive_options())
                .await
                .unwrap();
        ws.next().await
    })
    .await
    .expect("the keep-alive timer did not end the connection");
    assert!(is_keepalive_timeout(result));
}

/// Runs `future` to completion on a thread of its own (a smol or async-std executor), or
/// fails the test after [`BOUND`].
fn on_thread<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run());
    });
    rx.recv_timeout(BOUND)
        .expect("the keep-alive timer did not end the connection")
}

#[test]
fn http1_keepalive_finds_a_silent_server_on_smol() {
    let addr = silent_after_upgrade();
    let result = on_thread(move || {
        smol::block_on(async move {
            let (mut ws, _) =
                wintergreen::smol::connect_with(format!("ws://{addr}/"), &keepalive_options())
                    .await
                    .unwrap();
            ws.next().await
        })
    });
    assert!(is_keepalive_timeout(result));
}

#[test]
fn http1_keepalive_finds_a_silent_server_on_async_std() {
    let addr = silent_after_upgrade();
    let result = on_thread(move || {
        async_std::task::block_on(async move {
            let (mut ws, _) =
                wintergreen::async_std::connect_with(format!("ws://{addr}/"), &keepalive_options())
                    .await
                    .unwrap();
            ws.next().await
        })
    });
    assert!(is_keepalive_timeout(result));
}

/// An h2c server that accepts one extended CONNECT with 200 and then neither reads the
/// stream nor sends on it (the connection itself stays served).
async fn silent_h2_server() -> SocketAddr {
    serve(|tcp| async move {
        let mut builder = wintergreen::http2::h2::server::Builder::new();
        builder.enable_connect_protocol();
        let Ok(mut connection) = builder.handshake::<_, Bytes>(tcp).await else {
            return;
        };
        let mut held = Vec::new();
        while let Some(Ok((request, mut respond))) = connection.accept().await {
            if let Ok(send) = respond.send_response(http::Response::new(()), false) {
                held.push((request, send));
            }
        }
    })
    .await
}

#[tokio::test]
async fn http2_keepalive_finds_a_silent_server() {
    let addr = silent_h2_server().await;
    let mut options = keepalive_options();
    options.connect.http2 = Http2Mode::Require;
    let result = tokio::time::timeout(BOUND, async {
        let (mut ws, _) = wintergreen::tokio::connect_with(format!("ws://{addr}/"), &options)
            .await
            .unwrap();
        ws.next().await
    })
    .await
    .expect("the keep-alive timer did not end the connection");
    assert!(is_keepalive_timeout(result));
}

/// An h2c WebSocket echo server with a short handshake timeout; sends each acceptor's
/// end (`Ok` or the error text) on `ends`.
async fn h2_echo_server(
    ends: tokio::sync::mpsc::UnboundedSender<Result<(), String>>,
) -> SocketAddr {
    serve(move |tcp| {
        let ends = ends.clone();
        async move {
            let mut options = ServerOptions::default();
            options.accept.handshake_timeout = Duration::from_millis(300);
            let mut acceptor = match wintergreen::tokio::http2::accept(tcp, &options).await {
                Ok(acceptor) => acceptor,
                Err(err) => {
                    let _ = ends.send(Err(err.to_string()));
                    return;
                }
            };
            loop {
                match acceptor.accept().await {
                    Some(Ok((ws, _))) => {
                        tokio::spawn(echo(ws));
                    }
                    Some(Err(err)) => {
                        let _ = ends.send(Err(err.to_string()));
                        return;
                    }
                    None => {
                        let _ = ends.send(Ok(()));
                        return;
                    }
                }
            }
        }
    })
    .await
}

async fn echo_once(addr: SocketAddr) {
    let mut options = ClientOptions::default();
    options.connect.http2 = Http2Mode::Require;
    let (mut ws, _) = wintergreen::tokio::connect_with(format!("ws://{addr}/"), &options)
        .await
        .unwrap();
    ws.send(Message::text("still here?")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still here?")
    );
}

#[tokio::test]
async fn a_client_that_never_sends_the_preface_is_dropped_at_the_handshake_timeout() {
    let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
    let addr = h2_echo_server(tx).await;
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let end = tokio::time::timeout(BOUND, ends.recv())
        .await
        .expect("the server still waits for the preface")
        .unwrap();
    assert!(end.is_err(), "{end:?}");
    bounded(echo_once(addr)).await;
}

#[tokio::test]
async fn rapid_reset_does_not_hold_the_server() {
    let (tx, _ends) = tokio::sync::mpsc::unbounded_channel();
    let addr = h2_echo_server(tx).await;
    tokio::time::timeout(BOUND, async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut client, connection) = wintergreen::http2::h2::client::handshake(tcp)
            .await
            .unwrap();
        let driver = tokio::spawn(connection);
        let mut sent = 0;
        for _ in 0..10_000 {
            client = match client.ready().await {
                Ok(ready) => ready,
                Err(_) => break, // the server closed the connection on us: also fine
            };
            let mut request = http::Request::builder()
                .method(http::Method::CONNECT)
                .uri(format!("http://{addr}/"))
                .header("sec-websocket-version", "13")
                .body(())
                .unwrap();
            request
                .extensions_mut()
                .insert(wintergreen::http2::h2::ext::Protocol::from_static(
                    "websocket",
                ));
            let Ok((_response, mut stream)) = client.send_request(request, false) else {
                break;
            };
            stream.send_reset(wintergreen::http2::h2::Reason::CANCEL);
            sent += 1;
        }
        assert!(sent > 0);
        driver.abort();
        // Another client is still served.
        echo_once(addr).await;
    })
    .await
    .expect("the server did not keep up with the resets");
}

/// What the client reads first from a server that negotiates permessage-deflate and then
/// sends `frames`.
#[cfg(feature = "deflate")]
async fn first_from_deflate_server(frames: Vec<u8>) -> Option<Result<Message, Error>> {
    let addr = raw_server("permessage-deflate", frames);
    tokio::time::timeout(BOUND, async {
        let (mut ws, response) = wintergreen::tokio::connect(format!("ws://{addr}/"))
            .await
            .unwrap();
        assert!(response.headers().contains_key("sec-websocket-extensions"));
        ws.next().await
    })
    .await
    .expect("the client neither read nor failed")
}

#[cfg(feature = "deflate")]
fn is_protocol_error(result: &Option<Result<Message, Error>>) -> bool {
    matches!(
        result,
        Some(Err(Error::Connection(ConnectionError::Protocol(_))))
    )
}

/// RFC 7692 §6: RSV1 is set on the first frame of a message only; a control frame with it
/// fails the connection even with permessage-deflate negotiated.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn rsv1_on_a_ping_fails_with_deflate_negotiated() {
    let result = first_from_deflate_server(vec![0xC9, 0x00]).await;
    assert!(is_protocol_error(&result), "{result:?}");
}

/// RFC 7692 §6.1: RSV1 on a continuation frame fails the connection.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn rsv1_on_a_continuation_fails_with_deflate_negotiated() {
    let result = first_from_deflate_server(vec![0x01, 0x01, b'a', 0xC0, 0x01, b'b']).await;
    assert!(is_protocol_error(&result), "{result:?}");
}

/// A compressed message cut into 100,000 one-byte frames (20,000 empty stored blocks, then
/// "Hello" from RFC 7692 §7.2.3.1) inflates to "Hello".
#[cfg(feature = "deflate")]
#[tokio::test]
async fn a_compressed_message_in_100_000_one_byte_frames() {
    let mut deflated = [0x00, 0x00, 0x00, 0xff, 0xff].repeat(20_000);
    deflated.extend_from_slice(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    let last = deflated.len() - 1;
    let mut frames = Vec::with_capacity(deflated.len() * 3);
    for (i, byte) in deflated.iter().enumerate() {
        let fin = if i == last { 0x80 } else { 0x00 };
        let first = if i == 0 { 0x40 | 0x01 } else { 0x00 };
        frames.extend_from_slice(&[fin | first, 0x01, *byte]);
    }
    let result = first_from_deflate_server(frames).await;
    assert!(
        matches!(&result, Some(Ok(message)) if *message == Message::text("Hello")),
        "{result:?}"
    );
}

/// A message that inflates past the client's `max_message_size` fails as too big: the
/// limit holds while inflating (1 MiB of zeros, a few KiB on the wire, against 64 KiB).
#[cfg(feature = "deflate")]
#[tokio::test]
async fn a_message_that_inflates_past_the_limit_fails() {
    let addr = serve(|tcp| async move {
        if let Ok((mut ws, _)) = wintergreen::accept(tcp).await {
            let _ = ws.send(Message::binary(vec![0u8; 1 << 20])).await;
            let _ = ws.next().await;
        }
    })
    .await;
    let result = tokio::time::timeout(BOUND, async {
        let mut options = ClientOptions::default();
        options.session.max_message_size = 64 << 10;
        let (mut ws, response) =
            wintergreen::tokio::connect_with(format!("ws://{addr}/"), &options)
                .await
                .unwrap();
        assert!(response.headers().contains_key("sec-websocket-extensions"));
        ws.next().await
    })
    .await
    .expect("the client neither read nor failed");
    assert!(is_protocol_error(&result), "{result:?}");
    let Some(Err(err)) = result else {
        unreachable!()
    };
    assert!(
        err.to_string()
            .contains("message exceeds the limit of 65536 bytes"),
        "{err}"
    );
}

/// A server that sends `count` pings, then one text message and a close (1000), and
/// then waits for the client's close reply.
async fn pinging_closer(count: usize) -> SocketAddr {
    serve(move |tcp| async move {
        if let Ok((mut ws, _)) = wintergreen::accept(tcp).await {
            for _ in 0..count {
                if ws
                    .send(Message::Ping(Bytes::from_static(b"p")))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = ws.send(Message::text("bye")).await;
            let _ = ws.close(wintergreen::CloseCode::NORMAL, "done").await;
        }
    })
    .await
}

#[tokio::test]
async fn split_writer_dropped_while_the_reader_waits_for_the_close() {
    let addr = pinging_closer(100).await;
    let seen = tokio::time::timeout(BOUND, async {
        let (ws, _) = wintergreen::tokio::connect(format!("ws://{addr}/"))
            .await
            .unwrap();
        let (mut reader, writer) = ws.split();
        drop(writer);
        let mut seen = Vec::new();
        while let Some(next) = reader.next().await {
            seen.push(next);
        }
        seen
    })
    .await
    .expect("the reader hung after its writer was dropped");
    assert!(
        seen.iter()
            .any(|m| matches!(m, Ok(message) if *message == Message::text("bye"))),
        "{seen:?}"
    );
    assert!(seen.iter().all(Result::is_ok), "{seen:?}");
}

#[tokio::test]
async fn split_reader_dropped_while_the_writer_sends_to_an_echo_server() {
    let addr = serve(|tcp| async move {
        if let Ok((ws, _)) = wintergreen::accept(tcp).await {
            echo(ws).await;
        }
    })
    .await;
    let result = tokio::time::timeout(BOUND, async {
        let (ws, _) = wintergreen::tokio::connect(format!("ws://{addr}/"))
            .await
            .unwrap();
        let (reader, mut writer) = ws.split();
        drop(reader);
        for _ in 0..64 {
            // 64 × 64 KiB: more than the socket buffers hold if nothing reads the echoes.
            writer.send(Message::binary(vec![7u8; 64 << 10])).await?;
        }
        writer.close().await
    })
    .await;
    // The writes must not hang (whether they end Ok or with a typed error).
    let result = result.expect("the writer hung after its reader was dropped");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn split_halves_in_two_tasks_while_pings_arrive_and_the_peer_closes() {
    let addr = pinging_closer(1000).await;
    tokio::time::timeout(BOUND, async {
        let (ws, _) = wintergreen::tokio::connect(format!("ws://{addr}/"))
            .await
            .unwrap();
        let (mut reader, mut writer) = ws.split();
        let writing = tokio::spawn(async move {
            for i in 0..10_000u32 {
                if writer.send(Message::text(i.to_string())).await.is_err() {
                    return true; // typed error after the close: fine
                }
            }
            false
        });
        let reading = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(next) = reader.next().await {
                seen.push(next);
            }
            seen
        });
        let seen = reading.await.unwrap();
        writing.await.unwrap();
        let [.., Ok(bye), Ok(Message::Close(Some(close)))] = &seen[..] else {
            panic!("{seen:?}");
        };
        assert_eq!(*bye, Message::text("bye"));
        assert_eq!(close.code, wintergreen::CloseCode::NORMAL);
    })
    .await
    .expect("the halves hung");
}

/// The frames in `bytes` (RFC 9113 §4.1), as (type, flags, stream, payload); a truncated
/// last frame is left out.
fn h2_frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        if bytes.len() < 9 + len {
            break;
        }
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        frames.push((bytes[3], bytes[4], stream, bytes[9..9 + len].to_vec()));
        bytes = &bytes[9 + len..];
    }
    frames
}

/// RFC 9113 §6.9.1: a WINDOW_UPDATE that takes the connection window past 2^31-1 is a
/// connection error FLOW_CONTROL_ERROR: the server says so in its GOAWAY, the acceptor ends
/// with a typed error, and the server serves the next client.
#[tokio::test]
async fn a_window_update_past_2_pow_31_is_a_flow_control_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
    let addr = h2_echo_server(tx).await;
    let received = tokio::time::timeout(BOUND, async {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS, empty
        hello.extend_from_slice(&[0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
        tcp.write_all(&hello).await.unwrap();
        let mut received = Vec::new();
        let _ = tcp.read_to_end(&mut received).await;
        received
    })
    .await
    .expect("the server kept the connection open");
    let goaway = h2_frames(&received)
        .into_iter()
        .find(|(kind, ..)| *kind == 7)
        .expect("a GOAWAY");
    // Last-Stream-ID (4 bytes), then the error code: FLOW_CONTROL_ERROR is 0x3.
    assert_eq!(goaway.3[4..8], [0, 0, 0, 3], "{goaway:?}");
    let end = tokio::time::timeout(BOUND, ends.recv())
        .await
        .expect("the acceptor did not end")
        .unwrap();
    assert!(end.is_err(), "{end:?}");
    bounded(echo_once(addr)).await;
}

/// Keep-alive over HTTP/2 on smol and on async-std, each against a [`silent_h2_server`]
/// that tokio runs meanwhile.
#[tokio::test]
async fn http2_keepalive_finds_a_silent_server_on_smol_and_async_std() {
    let (a, b) = (silent_h2_server().await, silent_h2_server().await);
    let mut options = keepalive_options();
    options.connect.http2 = Http2Mode::Require;
    let (on_smol, on_async_std) = tokio::task::spawn_blocking(move || {
        let smol_options = options.clone();
        let on_smol = on_thread(move || {
            smol::block_on(async move {
                let url = format!("ws://{a}/");
                let (mut ws, _) = wintergreen::smol::connect_with(url, &smol_options)
                    .await
                    .unwrap();
                ws.next().await
            })
        });
        let on_async_std = on_thread(move || {
            async_std::task::block_on(async move {
                let url = format!("ws://{b}/");
                let (mut ws, _) = wintergreen::async_std::connect_with(url, &options)
                    .await
                    .unwrap();
                ws.next().await
            })
        });
        (on_smol, on_async_std)
    })
    .await
    .unwrap();
    assert!(is_keepalive_timeout(on_smol), "smol");
    assert!(is_keepalive_timeout(on_async_std), "async-std");
}

/// One HTTP/2 frame (RFC 9113 §4.1).
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    assert!(len < 1 << 24);
    let mut frame = len.to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An HPACK string length: an integer with a 7-bit prefix, Huffman bit clear (RFC 7541
/// §5.1, §5.2).
fn hpack_len(out: &mut Vec<u8>, mut n: usize) {
    if n < 127 {
        out.push(n as u8);
        return;
    }
    out.push(127);
    n -= 127;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

/// A literal header field without indexing, with a literal name (RFC 7541 §6.2.2).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    hpack_len(out, name.len());
    out.extend_from_slice(name.as_bytes());
    hpack_len(out, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// The header block of an extended CONNECT for `websocket` (RFC 8441 §4, §5).
fn connect_block(addr: SocketAddr) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", &addr.to_string()),
        ("sec-websocket-version", "13"),
    ] {
        hpack_literal(&mut block, name, value);
    }
    block
}

/// An h2c connection to `addr` made by hand: the preface, empty SETTINGS and the ACK of
/// the server's (which h2 sends before it reads anything).
async fn raw_h2c(addr: SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(4, 0, 0, &[]));
    hello.extend(h2_frame(4, 1, 0, &[]));
    tcp.write_all(&hello).await.unwrap();
    tcp
}

/// Reads frames from `tcp` until `done` holds for those read so far, or the connection
/// ends (then `done` is not checked again: the caller asserts on what came).
async fn read_h2_until(
    tcp: &mut (impl tokio::io::AsyncRead + Unpin),
    done: impl Fn(&[(u8, u8, u32, Vec<u8>)]) -> bool,
) -> Vec<(u8, u8, u32, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let frames = h2_frames(&received);
        if done(&frames) {
            return frames;
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return h2_frames(&received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// RFC 9113 §5.1.2: a client that opens more streams than the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS` (256 by default) gets RST_STREAM REFUSED_STREAM for
/// the one past the limit; the streams within it are all answered 200, the connection
/// stays up, and the server serves the next client.
#[tokio::test]
async fn a_stream_past_the_concurrent_stream_limit_is_refused() {
    use tokio::io::AsyncWriteExt;
    let limit = wintergreen::http2::Http2Config::DEFAULT_MAX_CONCURRENT_STREAMS;
    let (tx, _ends) = tokio::sync::mpsc::unbounded_channel();
    let addr = h2_echo_server(tx).await;
    let mut tcp = raw_h2c(addr).await;
    let block = connect_block(addr);
    let mut opens = Vec::new();
    for i in 0..=limit {
        opens.extend(h2_frame(1, 0x4, 1 + 2 * i, &block)); // HEADERS, END_HEADERS
    }
    tcp.write_all(&opens).await.unwrap();
    let past = 1 + 2 * limit;
    let answered = |frames: &[(u8, u8, u32, Vec<u8>)]| {
        frames
            .iter()
            .filter(|(kind, _, stream, _)| *kind == 1 && *stream < past)
            .count()
    };
    let frames = tokio::time::timeout(
        BOUND,
        read_h2_until(&mut tcp, |frames| {
            answered(frames) == limit as usize && frames.iter().any(|f| f.0 == 3 && f.2 == past)
        }),
    )
    .await
    .expect("no answer to every stream");
    let reset = frames
        .iter()
        .find(|(kind, _, stream, _)| *kind == 3 && *stream == past)
        .expect("RST_STREAM on the stream past the limit");
    assert_eq!(reset.3, [0, 0, 0, 7], "REFUSED_STREAM is 0x7: {reset:?}");
    assert_eq!(answered(&frames), limit as usize);
    assert!(
        !frames
            .iter()
            .any(|(kind, _, stream, _)| (*kind == 3 && *stream != past) || *kind == 7),
        "a stream within the limit was reset, or the connection went away: {frames:?}"
    );
    bounded(echo_once(addr)).await;
}

/// A header block that never ends: HEADERS without END_HEADERS, then CONTINUATION frames
/// for ever (the CONTINUATION flood of 2024; RFC 9113 §6.10 sets no limit). The server
/// keeps at most a few frames of it, then ends the connection with GOAWAY
/// ENHANCE_YOUR_CALM, and serves the next client.
#[tokio::test]
async fn a_header_block_that_never_ends_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
    let addr = h2_echo_server(tx).await;
    let tcp = raw_h2c(addr).await;
    // A header whose value is announced as 1 MiB long, of which each CONTINUATION carries
    // one byte more.
    let mut block = connect_block(addr);
    block.push(0);
    hpack_len(&mut block, "x-flood".len());
    block.extend_from_slice(b"x-flood");
    hpack_len(&mut block, 1 << 20);
    let mut flood = h2_frame(1, 0, 1, &block);
    for _ in 0..100_000 {
        flood.extend(h2_frame(9, 0, 1, b"a"));
    }
    let (mut reader, mut writer) = tcp.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&flood).await; // fails once the server has gone
        writer
    });
    let frames = tokio::time::timeout(BOUND, read_h2_until(&mut reader, |_| false))
        .await
        .expect("the server kept reading the header block");
    let goaway = frames
        .iter()
        .find(|(kind, ..)| *kind == 7)
        .expect("a GOAWAY");
    assert_eq!(
        goaway.3[4..8],
        [0, 0, 0, 0xb],
        "ENHANCE_YOUR_CALM: {goaway:?}"
    );
    let end = tokio::time::timeout(BOUND, ends.recv())
        .await
        .expect("the acceptor did not end")
        .unwrap();
    assert!(end.is_err(), "{end:?}");
    writing.abort();
    bounded(echo_once(addr)).await;
}
