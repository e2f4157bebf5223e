#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! HTTP/2 peers that stall or wait on us: the close handshake over a stream (RFC 8441 §5),
//! and the timeouts and limits that bound what a stalling peer can hold.

#![cfg(feature = "http2")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use wintergreen_connect::ClientOptions;
use wintergreen_connect::http2::{Http2Client, h2};
use wintergreen_stream::CloseCode;

mod tokio_common;

use tokio_common::{bounded, listener, runtime};

async fn client(addr: SocketAddr, options: &ClientOptions) -> Http2Client {
    let url = format!("ws://{addr}");
    wintergreen_connect::http2::connect(&runtime(), url, options)
        .await
        .unwrap()
}

fn ws_request(addr: SocketAddr) -> Request<()> {
    Request::get(format!("ws://{addr}/")).body(()).unwrap()
}

/// An h2 server (h2 itself, not ours) that, like Apache's mod_http2 and Hypercorn, ends its
/// half of a WebSocket stream only after the client ended its own: it answers the client's
/// close frame with its own, then waits for the client's END_STREAM.
async fn server_waiting_for_end_stream() -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let mut builder = h2::server::Builder::new();
        builder.enable_connect_protocol();
        let Ok(mut connection) = builder.handshake::<_, Bytes>(tcp).await else {
            return;
        };
        while let Some(Ok((request, mut respond))) = connection.accept().await {
            tokio::spawn(async move {
                let mut recv = request.into_body();
                let mut send = respond.send_response(Response::new(()), false).unwrap();
                let mut seen = Vec::new();
                let mut answered = false;
                while let Some(Ok(data)) = recv.data().await {
                    let _ = recv.flow_control().release_capacity(data.len());
                    seen.extend_from_slice(&data);
                    // A masked close frame from the client starts with 0x88.
                    if !answered && seen.first() == Some(&0x88) {
                        answered = true;
                        send.send_data(Bytes::from_static(&[0x88, 0x02, 0x03, 0xe8]), false)
                            .unwrap();
                    }
                }
                // The client ended its half: now end ours.
                let _ = send.send_data(Bytes::new(), true);
                tokio::time::sleep(Duration::from_secs(1)).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn the_client_ends_its_half_after_the_close_handshake_so_a_waiting_server_can_end_its_own() {
    let addr = server_waiting_for_end_stream().await;
    let mut options = ClientOptions::default();
    options.session.close_timeout = Duration::from_secs(10);
    let client = client(addr, &options).await;
    let (mut ws, _) = bounded(wintergreen_connect::http2::websocket(
        &client,
        ws_request(addr),
        &options,
    ))
    .await
    .unwrap();
    let started = Instant::now();
    bounded(ws.close(CloseCode::NORMAL, "")).await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the close waited {took:?}: the client did not end its half of the stream"
    );
    assert!(
        ws.get_ref().is_end_stream(),
        "the server's END_STREAM was read"
    );
}

/// Our h2c server (`wintergreen_connect::http2::accept`) with `options`; each connection's
/// acceptor yields into the returned channel; each WebSocket is read until it closes.
async fn our_server(
    options: wintergreen_connect::ServerOptions,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Result<(), wintergreen_connect::http2::Error>>,
) {
    let (listener, addr) = listener().await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let options = options.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut acceptor) =
                    wintergreen_connect::http2::accept(&runtime(), tcp, &options).await
                else {
                    return;
                };
                while let Some(next) = acceptor.accept().await {
                    match next {
                        Ok((mut ws, _)) => {
                            // Read until the close handshake is done (answering it).
                            tokio::spawn(async move {
                                while let Some(Ok(_)) = ws.next_message().await {}
                            });
                            let _ = tx.send(Ok(()));
                        }
                        Err(err) => {
                            let _ = tx.send(Err(err));
                        }
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// The client connection preface (RFC 9113 §3.4) and an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Writes `bytes` on a new connection to `addr`, then reads until the server closes it
/// (bounded); returns the frame types the server sent and how long until it closed.
async fn stall_with(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the stalled connection open");
    // Walk the frames: 3-byte length, type, flags, stream id.
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= received.len() {
        let len = usize::from(received[at]) << 16
            | usize::from(received[at + 1]) << 8
            | usize::from(received[at + 2]);
        types.push(received[at + 3]);
        at += 9 + len;
    }
    (types, started.elapsed())
}

const GOAWAY: u8 = 0x7;

fn short_handshake() -> wintergreen_connect::ServerOptions {
    let mut options = wintergreen_connect::ServerOptions::default();
    options.accept.handshake_timeout = Duration::from_millis(300);
    options
}

#[tokio::test]
async fn a_client_silent_after_preface_and_settings_gets_goaway_at_the_handshake_timeout() {
    let (addr, mut events) = our_server(short_handshake()).await;
    let (frames, took) = stall_with(addr, PREFACE_AND_SETTINGS).await;
    assert!(frames.contains(&GOAWAY), "frames: {frames:?}");
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
    let event = bounded(events.recv()).await.unwrap();
    assert!(
        matches!(event, Err(wintergreen_connect::http2::Error::Timeout(_))),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_client_stalled_inside_a_header_block_gets_goaway_at_the_handshake_timeout() {
    let (addr, _events) = our_server(short_handshake()).await;
    let mut bytes = PREFACE_AND_SETTINGS.to_vec();
    // HEADERS on stream 1, flags 0: no END_HEADERS, so CONTINUATION must follow. The
    // block so far: `:method GET` (static index 2).
    bytes.extend_from_slice(&[0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x82]);
    let (frames, _) = stall_with(addr, &bytes).await;
    assert!(frames.contains(&GOAWAY), "frames: {frames:?}");
}

#[tokio::test]
async fn an_established_connection_without_streams_is_closed_after_the_idle_timeout() {
    let mut options = wintergreen_connect::ServerOptions::default();
    options.accept.http2_settings.idle_timeout = Some(Duration::from_millis(300));
    let (addr, _events) = our_server(options).await;
    let client_options = ClientOptions::default();
    let client = client(addr, &client_options).await;
    let (mut ws, _) = bounded(wintergreen_connect::http2::websocket(
        &client,
        ws_request(addr),
        &client_options,
    ))
    .await
    .unwrap();
    // Busy for longer than the idle timeout: the open stream keeps the connection.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        client.h2().clone().ready().await.is_ok(),
        "closed while a stream was open"
    );
    drop(ws.close(CloseCode::NORMAL, "").await);
    drop(ws);
    // Now idle: GOAWAY within a bounded time.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if client.h2().clone().ready().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection was not closed");
}

/// A server that reads the client's frames and answers each PING, but never sends its
/// SETTINGS (its connection preface, RFC 9113 §3.4).
async fn server_without_settings() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let mut preface = [0u8; 24];
        if tcp.read_exact(&mut preface).await.is_err() {
            return;
        }
        for _ in 0..100 {
            let mut head = [0u8; 9];
            if tcp.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            if tcp.read_exact(&mut payload).await.is_err() {
                return;
            }
            if head[3] == 0x6 && head[4] & 0x1 == 0 {
                let mut ack = vec![0, 0, 8, 0x6, 0x1, 0, 0, 0, 0];
                ack.extend_from_slice(&payload);
                if tcp.write_all(&ack).await.is_err() {
                    return;
                }
            }
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_answers_ping_but_never_sends_settings_is_reported_as_such() {
    let addr = server_without_settings().await;
    let result = bounded(wintergreen_connect::http2::connect(
        &runtime(),
        format!("ws://{addr}"),
        &ClientOptions::default(),
    ))
    .await;
    let err = result.expect_err("the handshake must fail");
    assert!(
        matches!(
            err,
            wintergreen_connect::ConnectError::Http2(
                wintergreen_connect::http2::Error::NoSettings { first_frame: 0x6 }
            )
        ),
        "{err:?}"
    );
}

/// Our server, allowing `streams` concurrent streams per connection.
async fn server_limited_to(streams: u32) -> SocketAddr {
    let mut options = wintergreen_connect::ServerOptions::default();
    options.accept.http2_settings.max_concurrent_streams = streams;
    our_server(options).await.0
}

fn waiting_at_most(wait: Duration) -> ClientOptions {
    let mut options = ClientOptions::default();
    options.connect.http2_settings.stream_wait_timeout = wait;
    options
}

#[tokio::test]
async fn past_the_servers_stream_limit_an_open_fails_with_a_typed_stream_limit_error() {
    let addr = server_limited_to(2).await;
    let options = waiting_at_most(Duration::from_millis(300));
    let client = client(addr, &options).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let (ws, _) = bounded(wintergreen_connect::http2::websocket(
            &client,
            ws_request(addr),
            &options,
        ))
        .await
        .unwrap();
        open.push(ws);
    }
    let started = Instant::now();
    let attempts =
        (0..6).map(|_| wintergreen_connect::http2::websocket(&client, ws_request(addr), &options));
    let results = bounded(futures_util::future::join_all(attempts)).await;
    for result in results {
        let err = result.expect_err("no stream is free");
        assert!(
            matches!(
                err,
                wintergreen_connect::ConnectError::Http2(
                    wintergreen_connect::http2::Error::StreamLimit {
                        max_concurrent_streams: 2,
                        ..
                    }
                )
            ),
            "{err:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn many_websockets_opened_at_once_wait_for_free_streams_and_all_open() {
    let addr = server_limited_to(2).await;
    let options = waiting_at_most(Duration::from_secs(10));
    let client = client(addr, &options).await;
    let opens = (0..8).map(|_| {
        let client = client.clone();
        let options = options.clone();
        async move {
            let (mut ws, _) =
                wintergreen_connect::http2::websocket(&client, ws_request(addr), &options).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = ws.close(CloseCode::NORMAL, "").await;
            Ok::<_, wintergreen_connect::ConnectError>(())
        }
    });
    let results = bounded(futures_util::future::join_all(opens)).await;
    for result in results {
        result.unwrap();
    }
}

#[tokio::test]
async fn our_server_ends_its_half_after_the_close_handshake_without_waiting_for_the_client() {
    let (addr, _events) = our_server(wintergreen_connect::ServerOptions::default()).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send_request, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    // Let the server's SETTINGS (enabling extended CONNECT) arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut request = Request::connect(format!("http://{addr}/"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, mut send) = send_request.send_request(request, false).unwrap();
    let response = bounded(response).await.unwrap();
    assert!(response.status().is_success());
    let mut recv = response.into_body();
    // A masked close frame (1000, mask 0): the server answers and, its handshake done,
    // must end its half although ours stays open.
    send.send_data(
        Bytes::from_static(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]),
        false,
    )
    .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(data)) = recv.data().await {
            let _ = recv.flow_control().release_capacity(data.len());
            received.extend_from_slice(&data);
        }
    })
    .await;
    assert!(ended.is_ok(), "the server did not end its half");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        received.first(),
        Some(&0x88),
        "the server's close frame came first"
    );
}
