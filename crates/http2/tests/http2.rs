#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! WebSockets over HTTP/2 end to end, on loopback: the SETTINGS check, the extended CONNECT
//! exchange and its failures, many WebSockets and a plain request on one connection, flow
//! control with 16 MiB messages, backpressure, resets and lost connections (1006), and the
//! server's judgement of requests.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use futures_util::{SinkExt, StreamExt};
use h2::Reason;
use h2::ext::Protocol;
use http::{Method, Request, Response, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use wintergreen_codec::{ConnectionError, OpCode, Role, Rsv, Session, encode_frame};
use wintergreen_handshake::{AcceptPolicy, HandshakeError, Rejection};
use wintergreen_http1::ServerConfig;
use wintergreen_http2::{Error, H2Stream, Http2Config, OtherRequests};
use wintergreen_stream::{CloseCode, Error as StreamError, Message, StreamConfig, WebSocketStream};

fn server_options(policy: AcceptPolicy) -> ServerConfig {
    let mut options = ServerConfig::default();
    options.policy = policy;
    options
}

fn hand_back() -> Http2Config {
    let mut config = Http2Config::default();
    config.other_requests = OtherRequests::HandBack;
    config
}

fn is_abnormal(result: Option<Result<Message, StreamError>>) -> bool {
    matches!(
        result,
        Some(Err(StreamError::Connection(
            ConnectionError::AbnormalClosure
        )))
    )
}

#[tokio::test]
async fn extended_connect_disabled_without_the_setting() {
    let handler: Handler = Arc::new(|_, mut respond| {
        Box::pin(async move {
            let _ = respond.send_response(Response::new(()), true);
        })
    });
    let addr = raw_server(false, handler).await;
    let started = Instant::now();
    let err = bounded(client_with(addr, &Http2Config::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ExtendedConnectDisabled), "{err:?}");
    assert!(err.is_http2_unsupported());
    // Known after one round trip, not by waiting out the SETTINGS timeout.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_non_2xx_answer_is_upgrade_failed_with_status_headers_and_body() {
    let handler: Handler = Arc::new(|request, mut respond| {
        Box::pin(async move {
            assert_eq!(request.method(), Method::CONNECT);
            let response = Response::builder()
                .status(StatusCode::FORBIDDEN)
                .header("x-reason", "nope")
                .body(())
                .unwrap();
            let mut send = respond.send_response(response, false).unwrap();
            send.send_data(Bytes::from_static(b"go away"), true)
                .unwrap();
        })
    });
    let addr = raw_server(true, handler).await;
    let client = client(addr).await;
    let err = bounded(client.websocket(
        ws_request(addr, "/"),
        &options(),
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap_err();
    match err.as_handshake() {
        Some(HandshakeError::UpgradeFailed {
            status,
            headers,
            body,
        }) => {
            assert_eq!(*status, StatusCode::FORBIDDEN);
            assert_eq!(headers["x-reason"], "nope");
            assert_eq!(&body[..], b"go away");
        }
        other => panic!("expected UpgradeFailed, got {other:?} from {err:?}"),
    }
    // The connection itself is fine: a refused WebSocket is one stream's business.
    assert!(client.is_extended_connect_enabled());
}

/// A server that answers the extended CONNECT with `status` (plus a stray
/// `sec-websocket-accept`) and then echoes with a `Role::Server` session over the pipe.
fn echo_handler(status: StatusCode) -> Handler {
    Arc::new(move |request, mut respond| {
        Box::pin(async move {
            assert_eq!(
                request.extensions().get::<Protocol>().unwrap().as_str(),
                "websocket"
            );
            assert_eq!(request.headers()["sec-websocket-version"], "13");
            assert!(!request.headers().contains_key("sec-websocket-key"));
            assert_eq!(request.uri().scheme_str(), Some("http"));
            let response = Response::builder()
                .status(status)
                .header("sec-websocket-accept", "bogus")
                .body(())
                .unwrap();
            let send = respond.send_response(response, false).unwrap();
            let pipe = H2Stream::new(send, request.into_body());
            let ws = WebSocketStream::from_session(
                pipe,
                Session::new(Role::Server, Default::default()),
                StreamConfig::default(),
                timer(),
            );
            echo(ws).await;
        })
    })
}

#[tokio::test]
async fn any_2xx_succeeds_and_a_stray_accept_header_is_ignored() {
    for status in [StatusCode::OK, StatusCode::ACCEPTED] {
        let addr = raw_server(true, echo_handler(status)).await;
        let client = client(addr).await;
        let (mut ws, response) = bounded(client.websocket(
            ws_request(addr, "/x"),
            &options(),
            StreamConfig::default(),
            LIMIT,
        ))
        .await
        .unwrap();
        assert_eq!(response.status(), status);
        ws.send(Message::text("over h2")).await.unwrap();
        let echoed = bounded(ws.next()).await.unwrap().unwrap();
        assert_eq!(echoed, Message::text("over h2"));
        bounded(ws.close(CloseCode::NORMAL, "bye")).await.unwrap();
    }
}

#[tokio::test]
async fn a_hundred_websockets_share_one_connection_with_a_plain_get() {
    const SOCKETS: usize = 100;
    const MESSAGES: usize = 20;
    let (addr, connections) = echo_server(ServerConfig::default(), hand_back()).await;
    let client = client(addr).await;

    let mut tasks = Vec::new();
    for i in 0..SOCKETS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = client
                .websocket(
                    ws_request(addr, &format!("/ws/{i}")),
                    &options(),
                    StreamConfig::default(),
                    LIMIT,
                )
                .await
                .unwrap();
            for j in 0..MESSAGES {
                let text = format!("socket {i} message {j}");
                ws.send(Message::text(text.clone())).await.unwrap();
                assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
            }
            ws.close(CloseCode::NORMAL, "").await.unwrap();
            ws.get_ref().stream_id()
        }));
    }
    // A plain GET on the same connection while the WebSockets run.
    let get = async {
        let request = Request::get(format!("http://{addr}/hello"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).await.unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        let mut got = BytesMut::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            got.extend_from_slice(&chunk);
        }
        assert_eq!(&got[..], b"hello from h2");
    };
    bounded(get).await;
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(bounded(task).await.unwrap());
    }
    ids.sort_by_key(|id| id.as_u32());
    ids.dedup();
    assert_eq!(ids.len(), SOCKETS, "each WebSocket is its own stream");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one TCP connection");
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_message_each_way_at_once_under_default_windows() {
    const SIZE: usize = 16 << 20;
    let config = Http2Config::default();
    assert_eq!(config.initial_stream_window_size, 65_535);
    assert_eq!(config.initial_connection_window_size, 1 << 20);
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let mut acceptor = accept_one(&listener, &Http2Config::default()).await;
        let (ws, _) = acceptor.accept().await.unwrap().unwrap();
        let (mut reader, mut writer) = ws.split();
        let send = tokio::spawn(async move {
            writer
                .send(Message::binary(pattern(SIZE, 7)))
                .await
                .unwrap();
            writer
        });
        let got = reader.next().await.unwrap().unwrap();
        assert_eq!(got, Message::binary(pattern(SIZE, 1)));
        let _writer = send.await.unwrap();
        // Keep reading until the client's close.
        while let Some(Ok(message)) = reader.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    });
    let client = client(addr).await;
    let (ws, _) = bounded(client.websocket(
        ws_request(addr, "/big"),
        &options(),
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap();
    let (mut reader, mut writer) = ws.split();
    let send = tokio::spawn(async move {
        writer
            .send(Message::binary(pattern(SIZE, 1)))
            .await
            .unwrap();
        writer
    });
    let got = bounded(reader.next()).await.unwrap().unwrap();
    assert_eq!(got, Message::binary(pattern(SIZE, 7)));
    let mut writer = bounded(send).await.unwrap();
    writer.close().await.unwrap();
    while let Some(item) = bounded(reader.next()).await {
        item.unwrap();
    }
    bounded(server).await.unwrap();
}

#[tokio::test]
async fn writes_wait_for_flow_control_instead_of_buffering() {
    // The server accepts the WebSocket but never reads it.
    let (listener, addr) = listener().await;
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut acceptor = accept_one(&listener, &Http2Config::default()).await;
        let accepted = acceptor.accept().await.unwrap().unwrap();
        let _ = hold_rx.await;
        drop(accepted);
    });
    let client = client(addr).await;
    let mut ws = open_default(&client, addr).await;
    const CHUNK: usize = 64 << 10;
    let mut sent = 0usize;
    let mut stalled = false;
    for _ in 0..256 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            // `feed` queues without flushing: it waits only when the write buffer is full.
            ws.feed(Message::binary(vec![0u8; CHUNK])),
        )
        .await
        {
            Ok(result) => {
                result.unwrap();
                sent += CHUNK;
            }
            Err(_) => {
                stalled = true;
                break;
            }
        }
    }
    assert!(stalled, "sends never waited: {sent} bytes accepted");
    // The peer's windows (64 KiB), h2's send buffer and the driver's write buffer bound it.
    assert!(
        sent < 1 << 20,
        "{sent} bytes were accepted while the peer read nothing"
    );
    let _ = hold_tx.send(());
}

/// An unmasked server frame.
fn server_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, fin, Rsv::NONE, opcode, None, payload);
    out.to_vec()
}

#[tokio::test]
async fn rst_stream_in_the_middle_of_a_message_is_an_abnormal_closure() {
    let handler: Handler = Arc::new(|request, mut respond| {
        Box::pin(async move {
            let mut recv = request.into_body();
            let mut send = respond.send_response(Response::new(()), false).unwrap();
            // A whole message, then the first fragment of another and half of a frame.
            let mut bytes = server_frame(OpCode::Text, true, b"hello");
            bytes.extend(server_frame(OpCode::Binary, false, &[1; 100]));
            let half = server_frame(OpCode::Continuation, true, &[2; 100]);
            bytes.extend_from_slice(&half[..50]);
            send.send_data(Bytes::from(bytes), false).unwrap();
            // The client's answer shows it has read the whole DATA frame.
            let _ = recv.data().await;
            send.send_reset(Reason::INTERNAL_ERROR);
            // Keep the stream's handles until the reset has gone out.
            tokio::time::sleep(Duration::from_millis(500)).await;
        })
    });
    let addr = raw_server(true, handler).await;
    let client = client(addr).await;
    let mut ws = open_default(&client, addr).await;
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::text("hello")
    );
    ws.send(Message::text("got it")).await.unwrap();
    let end = bounded(ws.next()).await;
    assert!(is_abnormal(end), "expected 1006");
    assert_eq!(
        ws.get_ref().reset_reason(),
        Some(Reason::INTERNAL_ERROR),
        "the pipe keeps why"
    );
    assert!(bounded(ws.next()).await.is_none());
    // Sending now is refused (the stream is gone); the connection lives on.
    assert!(ws.send(Message::text("late")).await.is_err());
    assert!(client.is_extended_connect_enabled());
}

#[tokio::test]
async fn a_lost_connection_is_an_abnormal_closure() {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut builder = h2::server::Builder::new();
        builder.enable_connect_protocol();
        let mut connection = builder.handshake::<_, Bytes>(tcp).await.unwrap();
        let (request, mut respond) = connection.accept().await.unwrap().unwrap();
        let mut send = respond.send_response(Response::new(()), false).unwrap();
        send.send_data(
            Bytes::from(server_frame(OpCode::Text, false, b"part")),
            false,
        )
        .unwrap();
        // Drive the connection a little so the frames go out, then drop it all: TCP closes.
        let _ = tokio::time::timeout(Duration::from_millis(200), connection.accept()).await;
        drop((request, send, connection));
    });
    let client = client(addr).await;
    let mut ws = open_default(&client, addr).await;
    assert!(is_abnormal(bounded(ws.next()).await), "expected 1006");
    assert!(ws.get_ref().read_error().is_some());
}

#[tokio::test]
async fn the_close_handshake_ends_the_stream_and_the_connection_lives_on() {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let mut acceptor = accept_one(&listener, &Http2Config::default()).await;
        for _ in 0..2 {
            let (mut ws, request) = acceptor.accept().await.unwrap().unwrap();
            assert_eq!(request.method(), Method::CONNECT);
            let mut saw_close = false;
            while let Some(message) = ws.next().await {
                if let Message::Close(Some(frame)) = message.unwrap() {
                    assert_eq!(frame.code, CloseCode::NORMAL);
                    saw_close = true;
                }
            }
            assert!(saw_close);
        }
    });
    let client = client(addr).await;
    for _ in 0..2 {
        let mut ws = open_default(&client, addr).await;
        bounded(ws.close(CloseCode::NORMAL, "done")).await.unwrap();
        assert!(ws.get_ref().is_end_stream(), "the server sent END_STREAM");
        assert!(ws.get_ref().read_error().is_none());
    }
    bounded(server).await.unwrap();
}

#[tokio::test]
async fn the_server_negotiates_subprotocols_with_its_policy() {
    let policy = AcceptPolicy::new().subprotocols(["chat.v2", "chat.v1"]);
    let (addr, _) = echo_server(server_options(policy), Http2Config::default()).await;
    let client = client(addr).await;
    let options = options().subprotocol("chat.v1").subprotocol("chat.v2");
    let (mut ws, response) = bounded(client.websocket(
        ws_request(addr, "/"),
        &options,
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
    ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::text("hi")
    );
}

/// Sends a raw extended CONNECT (or other request) with h2 directly; returns the status and
/// headers.
async fn raw_request(addr: std::net::SocketAddr, request: Request<()>) -> http::Response<()> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut send = send.ready().await.unwrap();
    let (response, _stream) = send.send_request(request, false).unwrap();
    let response = bounded(response).await.unwrap();
    response.map(|_| ())
}

fn extended_connect(addr: std::net::SocketAddr, version: Option<&str>) -> Request<()> {
    let mut builder = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{addr}/chat"))
        .extension(Protocol::from_static("websocket"));
    if let Some(version) = version {
        builder = builder.header("sec-websocket-version", version);
    }
    builder.body(()).unwrap()
}

#[tokio::test]
async fn the_server_judges_requests_with_the_handshake_rules() {
    let policy = AcceptPolicy::new().check(|request| {
        if request.uri().path() == "/forbidden" {
            Err(Rejection::new(StatusCode::FORBIDDEN))
        } else {
            Ok(())
        }
    });
    let (addr, _) = echo_server(server_options(policy), Http2Config::default()).await;

    let ok = raw_request(addr, extended_connect(addr, Some("13"))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(!ok.headers().contains_key("sec-websocket-accept"));

    let old = raw_request(addr, extended_connect(addr, Some("8"))).await;
    assert_eq!(old.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(old.headers()["sec-websocket-version"], "13");

    let missing = raw_request(addr, extended_connect(addr, None)).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    let mut forbidden = extended_connect(addr, Some("13"));
    *forbidden.uri_mut() = format!("http://{addr}/forbidden").parse().unwrap();
    let forbidden = raw_request(addr, forbidden).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    // Not a WebSocket: refused by default.
    let get = Request::get(format!("http://{addr}/")).body(()).unwrap();
    assert_eq!(
        raw_request(addr, get).await.status(),
        StatusCode::BAD_REQUEST
    );
    let other = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{addr}/"))
        .extension(Protocol::from_static("webtransport"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    assert_eq!(
        raw_request(addr, other).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_client_refused_by_policy_gets_upgrade_failed() {
    let policy =
        AcceptPolicy::new().check(|_| Err(Rejection::new(StatusCode::FORBIDDEN).with_body("no")));
    let (addr, _) = echo_server(server_options(policy), Http2Config::default()).await;
    let client = client(addr).await;
    let err = bounded(client.websocket(
        ws_request(addr, "/"),
        &options(),
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap_err();
    match err.as_handshake() {
        Some(HandshakeError::UpgradeFailed { status, body, .. }) => {
            assert_eq!(*status, StatusCode::FORBIDDEN);
            assert_eq!(&body[..], b"no");
        }
        other => panic!("expected UpgradeFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn the_settings_wait_is_bounded() {
    // A TCP server that reads and never answers.
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(LIMIT, tcp.read_to_end(&mut sink)).await;
    });
    let mut config = Http2Config::default();
    config.settings_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = bounded(client_with(addr, &config)).await.unwrap_err();
    assert!(matches!(err, Error::SettingsTimeout), "{err:?}");
    assert!(err.is_http2_unsupported());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_http1_only_server_fails_the_preface() {
    // An HTTP/1.1 server answers the h2 preface with 400 and closes.
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = [0_u8; 64];
        let _ = tcp.read(&mut head).await;
        let _ = tokio::io::AsyncWriteExt::write_all(
            &mut tcp,
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
    });
    let err = bounded(client_with(addr, &Http2Config::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Preface(_)), "{err:?}");
    assert!(err.is_http2_unsupported());
}

#[tokio::test]
async fn a_full_backlog_answers_503() {
    let mut config = Http2Config::default();
    config.accept_backlog = 1;
    let (listener, addr) = listener().await;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        // Never takes anything from the acceptor.
        let acceptor = accept_one(&listener, &config).await;
        let _ = done_rx.await;
        drop(acceptor);
    });
    let client = client(addr).await;
    let _first = open_default(&client, addr).await;
    let err = bounded(client.websocket(
        ws_request(addr, "/"),
        &options(),
        StreamConfig::default(),
        LIMIT,
    ))
    .await
    .unwrap_err();
    assert!(matches!(
        err.as_handshake(),
        Some(HandshakeError::UpgradeFailed { status, .. }) if *status == StatusCode::SERVICE_UNAVAILABLE
    ));
    let _ = done_tx.send(());
}

#[tokio::test]
async fn many_tiny_data_frames_to_a_slow_reader_do_not_kill_the_connection() {
    const FRAMES: usize = 3000;
    let handler: Handler = Arc::new(|request, mut respond| {
        Box::pin(async move {
            let mut send = respond.send_response(Response::new(()), false).unwrap();
            // One complete 3-byte WebSocket message per DATA frame: 9 KB in all, well
            // within the flow-control window, but 3000 small frames buffered at once.
            let frame = Bytes::from(server_frame(OpCode::Text, true, b"a"));
            for _ in 0..FRAMES {
                send.send_data(frame.clone(), false).unwrap();
            }
            let mut recv = request.into_body();
            let _ = recv.data().await;
        })
    });
    let addr = raw_server(true, handler).await;
    let client = client(addr).await;
    let mut ws = open_default(&client, addr).await;
    // Not reading for a while: h2 buffers every frame.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..FRAMES {
        assert_eq!(
            bounded(ws.next()).await.unwrap().unwrap(),
            Message::text("a")
        );
    }
    assert!(client.is_extended_connect_enabled());
}

#[tokio::test]
async fn a_reset_while_sending_fails_the_send_instead_of_hanging() {
    let handler: Handler = Arc::new(|request, mut respond| {
        Box::pin(async move {
            let mut send = respond.send_response(Response::new(()), false).unwrap();
            let mut recv = request.into_body();
            // Some of the big message arrives (and its capacity is never released)...
            let _ = recv.data().await;
            // ...then the server gives up on the stream.
            send.send_reset(Reason::CANCEL);
            tokio::time::sleep(Duration::from_millis(500)).await;
        })
    });
    let addr = raw_server(true, handler).await;
    let client = client(addr).await;
    let mut ws = open_default(&client, addr).await;
    let err = bounded(ws.send(Message::binary(vec![7u8; 4 << 20])))
        .await
        .unwrap_err();
    match &err {
        StreamError::Io(io) => assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset),
        other => panic!("expected a reset I/O error, got {other:?}"),
    }
    // The stream then ends (as a TCP reset would: the write error, or 1006, then None).
    let mut items = 0;
    while let Some(item) = bounded(ws.next()).await {
        assert!(item.is_err());
        items += 1;
        assert!(items < 3, "the stream must end");
    }
}
