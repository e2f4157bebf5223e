//! wintergreen's client against an axum app and a plain hyper service, each on one port
//! serving HTTP/1.1 and h2c: echo, subprotocol and permessage-deflate negotiation over both
//! versions, and the 4xx answers a WebSocket route gives requests it cannot upgrade.
#![cfg(all(feature = "axum", feature = "deflate"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::any;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wintergreen_connect::{ClientOptions, ConnectError, Http2Mode, ServerOptions};
use wintergreen_handshake::Rejection;
use wintergreen_hyper::axum::WebSocketUpgrade;
use wintergreen_hyper::{Message, WebSocket};

/// Every network step of a test is bounded by this.
const STEP: Duration = Duration::from_secs(10);

async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(STEP, future)
        .await
        .expect("a step took longer than its bound")
}

/// Echoes data messages until the peer closes (at most 100 messages).
async fn echo(mut ws: WebSocket) {
    for _ in 0..100 {
        let Some(Ok(message)) = ws.next().await else {
            return;
        };
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            return;
        }
    }
}

/// The policy of both servers (the subprotocol aside): the defaults (permessage-deflate
/// accepted), refusing with 403 a request that carries `x-refuse`.
fn refusing_options() -> ServerOptions {
    let mut options = ServerOptions::default();
    options.handshake.policy = options.handshake.policy.check(|request| {
        if request.headers().contains_key("x-refuse") {
            Err(Rejection::new(StatusCode::FORBIDDEN).with_body("refused as asked\n"))
        } else {
            Ok(())
        }
    });
    options
}

async fn axum_handler(ws: WebSocketUpgrade) -> AxumResponse {
    ws.options(refusing_options())
        .protocols(["echo.v1"])
        .on_upgrade(echo)
}

/// A handler that takes the decision apart with `accept`: it greets the client with the
/// subprotocol the handshake chose, then echoes.
async fn axum_greeting_handler(ws: WebSocketUpgrade) -> AxumResponse {
    let (response, pending) = match ws.protocols(["echo.v2", "echo.v1"]).accept() {
        Ok(accepted) => accepted,
        Err(rejection) => return rejection.into_response(),
    };
    let greeting = format!("speaking {}", pending.subprotocol().unwrap_or("nothing"));
    tokio::spawn(async move {
        if let Ok(mut ws) = pending.await {
            if ws.send(Message::text(greeting)).await.is_ok() {
                echo(ws).await;
            }
        }
    });
    response
}

async fn axum_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/ws", any(axum_handler))
        .route("/greet", any(axum_greeting_handler))
        .route("/", any(|| async { "plain" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn hyper_service(
    mut request: Request<Incoming>,
    options: Arc<ServerOptions>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        return Ok(Response::new(Full::from("plain")));
    }
    Ok(match wintergreen_hyper::upgrade(&mut request, &options) {
        Ok((response, websocket)) => {
            websocket.on_upgrade(echo);
            response
        }
        Err(rejection) => rejection.response(),
    })
}

async fn hyper_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = refusing_options();
    options.handshake.policy = options.handshake.policy.subprotocols(["echo.v1"]);
    let options = Arc::new(options);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let options = Arc::clone(&options);
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let service =
                    service_fn(move |request| hyper_service(request, Arc::clone(&options)));
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

fn client_options(mode: Http2Mode) -> ClientOptions {
    let mut options = ClientOptions::default();
    options.connect.http2 = mode;
    options.handshake.subprotocols = vec!["other.v2".into(), "echo.v1".into()];
    options
}

/// Our client's WebSocket to `path` on `addr` over `mode`'s version, with
/// [`client_options`].
async fn connect_to(
    addr: SocketAddr,
    path: &str,
    mode: Http2Mode,
) -> (
    wintergreen_stream::WebSocketStream<wintergreen_connect::Transport>,
    Response<()>,
) {
    let runtime: Arc<dyn wintergreen_stream::Runtime> = Arc::new(wintergreen_tokio::Tokio);
    let url = format!("ws://{addr}{path}");
    bounded(wintergreen_connect::connect(
        &runtime,
        url.as_str(),
        &client_options(mode),
    ))
    .await
    .unwrap()
}

/// Connects with our client over `mode`'s version, checks the negotiation and two echoes,
/// and closes.
async fn echo_round_trip(addr: SocketAddr, mode: Http2Mode) {
    let (mut ws, response) = connect_to(addr, "/ws", mode).await;
    let expected_version = match mode {
        Http2Mode::Require => Version::HTTP_2,
        _ => Version::HTTP_11,
    };
    assert_eq!(ws.get_ref().http_version(), expected_version);
    assert_eq!(response.headers()["sec-websocket-protocol"], "echo.v1");
    let extensions = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(
        extensions.starts_with("permessage-deflate"),
        "extensions: {extensions}"
    );
    let big = "compressible ".repeat(10_000);
    for message in [
        Message::text("hello"),
        Message::binary(vec![1, 2, 3]),
        Message::text(big),
    ] {
        bounded(ws.send(message.clone())).await.unwrap();
        let reply = bounded(ws.next()).await.unwrap().unwrap();
        assert_eq!(reply, message);
    }
    bounded(ws.close(wintergreen_stream::CloseCode::NORMAL, "bye"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_axum_handler_sees_the_chosen_subprotocol_over_both_versions() {
    let addr = axum_server().await;
    for mode in [Http2Mode::Off, Http2Mode::Require] {
        // The client prefers other.v2, then echo.v1; the server speaks echo.v2 or echo.v1.
        let (mut ws, response) = connect_to(addr, "/greet", mode).await;
        assert_eq!(response.headers()["sec-websocket-protocol"], "echo.v1");
        let greeting = bounded(ws.next()).await.unwrap().unwrap();
        assert_eq!(greeting, Message::text("speaking echo.v1"), "{mode:?}");
        bounded(ws.send(Message::text("after"))).await.unwrap();
        assert_eq!(
            bounded(ws.next()).await.unwrap().unwrap(),
            Message::text("after")
        );
    }
}

#[tokio::test]
async fn axum_echoes_over_http1_with_subprotocol_and_deflate() {
    echo_round_trip(axum_server().await, Http2Mode::Off).await;
}

#[tokio::test]
async fn axum_echoes_over_http2_with_subprotocol_and_deflate() {
    echo_round_trip(axum_server().await, Http2Mode::Require).await;
}

#[tokio::test]
async fn hyper_echoes_over_http1_with_subprotocol_and_deflate() {
    echo_round_trip(hyper_server().await, Http2Mode::Off).await;
}

#[tokio::test]
async fn hyper_echoes_over_http2_with_subprotocol_and_deflate() {
    echo_round_trip(hyper_server().await, Http2Mode::Require).await;
}

#[tokio::test]
async fn no_subprotocol_is_chosen_when_the_client_offers_none_we_speak() {
    for addr in [axum_server().await, hyper_server().await] {
        let runtime: Arc<dyn wintergreen_stream::Runtime> = Arc::new(wintergreen_tokio::Tokio);
        let mut options = ClientOptions::default();
        options.handshake.subprotocols = vec!["other.v2".into()];
        let url = format!("ws://{addr}/ws");
        let (_ws, response) = bounded(wintergreen_connect::connect(
            &runtime,
            url.as_str(),
            &options,
        ))
        .await
        .unwrap();
        assert!(!response.headers().contains_key("sec-websocket-protocol"));
    }
}

/// Sends `head` (an HTTP/1.1 request head) and returns the response's status and head.
async fn http1_exchange(addr: SocketAddr, head: &str) -> (u16, String) {
    let mut tcp = bounded(TcpStream::connect(addr)).await.unwrap();
    bounded(tcp.write_all(head.as_bytes())).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    // Until the end of the head, or 16 KiB, or the server closes.
    while received.len() < 16 * 1024 && !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = bounded(tcp.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text.to_ascii_lowercase())
}

#[tokio::test]
async fn a_plain_get_to_the_route_is_400_not_200() {
    for addr in [axum_server().await, hyper_server().await] {
        let (status, head) =
            http1_exchange(addr, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert_eq!(status, 400, "{head}");
        // The route's neighbour still answers plain HTTP.
        let (status, _) = http1_exchange(addr, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert_eq!(status, 200);
    }
}

/// HTTP/1.1 requests to the route that cannot be upgraded, and what each must get: the
/// status and a header line the answer must carry.
const HTTP1_REFUSALS: &[(&str, &str, u16, &str)] = &[
    (
        "a POST with Upgrade: 405 allowing GET",
        "POST /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        405,
        "\r\nallow: get\r\n",
    ),
    (
        "Sec-WebSocket-Version 8: 426 naming 13 (RFC 6455 §4.2.2)",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        426,
        "\r\nsec-websocket-version: 13\r\n",
    ),
    (
        "Sec-WebSocket-Version 8: the 426 names websocket in Upgrade (RFC 9110 §15.5.22)",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        426,
        "\r\nupgrade: websocket\r\n",
    ),
    (
        "no Sec-WebSocket-Key: 400",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        400,
        "\r\ncontent-type: text/plain; charset=utf-8\r\n",
    ),
    (
        "a body (Content-Length): 400 (RFC 6455 §4.1: the request has none)",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Content-Length: 5\r\n\r\nhello",
        400,
        "\r\ncontent-type: text/plain; charset=utf-8\r\n",
    ),
    (
        "a chunked body: 400",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
        "\r\ncontent-type: text/plain; charset=utf-8\r\n",
    ),
    (
        "two Sec-WebSocket-Key lines: 400",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        400,
        "\r\ncontent-type: text/plain; charset=utf-8\r\n",
    ),
    (
        "Upgrade without Connection: upgrade: 400",
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        400,
        "\r\ncontent-type: text/plain; charset=utf-8\r\n",
    ),
];

#[tokio::test]
async fn broken_http1_upgrades_get_their_4xx() {
    for addr in [axum_server().await, hyper_server().await] {
        for (case, request, status, line) in HTTP1_REFUSALS {
            let (got, head) = http1_exchange(addr, request).await;
            assert_eq!(got, *status, "{case}: {head}");
            assert!(head.contains(line), "{case}: {head}");
        }
    }
}

/// A valid HTTP/1.1 upgrade request (no extension offered) followed, in the same write,
/// by `frames`; returns the bytes after the response head (the server's frames) once at
/// least `want` of them arrived, or the server closed.
async fn upgrade_with_frames(addr: SocketAddr, frames: &[u8], want: usize) -> Vec<u8> {
    let mut tcp = bounded(TcpStream::connect(addr)).await.unwrap();
    let mut bytes = b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    bytes.extend_from_slice(frames);
    bounded(tcp.write_all(&bytes)).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    let head_end = |received: &[u8]| received.windows(4).position(|w| w == b"\r\n\r\n");
    // Until the head and `want` bytes after it, or 16 KiB, or the server closes.
    while received.len() < 16 * 1024
        && head_end(&received).is_none_or(|end| received.len() < end + 4 + want)
    {
        let n = bounded(tcp.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    let end = head_end(&received).expect("a response head");
    assert!(received.starts_with(b"HTTP/1.1 101 "), "{received:?}");
    received.split_off(end + 4)
}

#[tokio::test]
async fn frames_in_the_same_packet_as_the_request_reach_the_websocket() {
    // A masked text frame "hi" (RFC 6455 §5.3): hyper reads it with the request head and
    // must hand it to the WebSocket with the connection.
    let masked = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    for addr in [axum_server().await, hyper_server().await] {
        let echoed = upgrade_with_frames(addr, &masked, 4).await;
        assert_eq!(echoed, [0x81, 0x02, b'h', b'i']);
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_is_closed_with_1002() {
    // RFC 6455 §5.1: a server closes the connection on an unmasked frame, status 1002.
    for addr in [axum_server().await, hyper_server().await] {
        let close = upgrade_with_frames(addr, &[0x81, 0x02, b'h', b'i'], 4).await;
        assert_eq!(close[..4], [0x88, 0x02, 0x03, 0xea], "{close:?}");
    }
}

/// Sends one request over h2c, once the server's SETTINGS are in (a PING's answer follows
/// them), and returns the response's status and header fields.
async fn http2_exchange(addr: SocketAddr, request: Request<()>) -> Response<()> {
    let tcp = bounded(TcpStream::connect(addr)).await.unwrap();
    let (client, mut connection) = bounded(h2::client::handshake(tcp)).await.unwrap();
    let mut ping_pong = connection.ping_pong().unwrap();
    tokio::spawn(connection);
    bounded(ping_pong.ping(h2::Ping::opaque())).await.unwrap();
    let mut client = bounded(client.ready()).await.unwrap();
    let (response, _send) = client.send_request(request, true).unwrap();
    bounded(response).await.unwrap().map(drop)
}

#[tokio::test]
async fn over_http2_a_get_is_405_allowing_connect() {
    for addr in [axum_server().await, hyper_server().await] {
        let request = Request::get(format!("http://{addr}/ws"))
            .version(Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        let response = http2_exchange(addr, request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "CONNECT");
    }
}

/// An extended CONNECT (RFC 8441 §4) to `/ws` on `addr` with this `:protocol` and
/// `sec-websocket-version`.
fn extended_connect(addr: SocketAddr, protocol: &'static str, version: &str) -> Request<()> {
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://{addr}/ws"))
        .version(Version::HTTP_2)
        .header("sec-websocket-version", version)
        .body(())
        .unwrap();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static(protocol));
    request
}

#[tokio::test]
async fn over_http2_a_connect_for_another_protocol_is_400() {
    for addr in [axum_server().await, hyper_server().await] {
        let request = extended_connect(addr, "not-websocket", "13");
        let response = http2_exchange(addr, request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn over_http2_a_wrong_version_is_426_without_connection_specific_fields() {
    for addr in [axum_server().await, hyper_server().await] {
        let request = extended_connect(addr, "websocket", "8");
        let response = http2_exchange(addr, request).await;
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
        // RFC 9113 §8.2.2: no Upgrade or Connection field in an HTTP/2 response.
        assert!(!response.headers().contains_key("upgrade"));
        assert!(!response.headers().contains_key("connection"));
    }
}

#[tokio::test]
async fn our_client_sees_the_policys_refusal_over_both_versions() {
    for addr in [axum_server().await, hyper_server().await] {
        for mode in [Http2Mode::Off, Http2Mode::Require] {
            let runtime: Arc<dyn wintergreen_stream::Runtime> = Arc::new(wintergreen_tokio::Tokio);
            let mut options = client_options(mode);
            options
                .handshake
                .headers
                .insert("x-refuse", "please".parse().unwrap());
            let url = format!("ws://{addr}/ws");
            match bounded(wintergreen_connect::connect(
                &runtime,
                url.as_str(),
                &options,
            ))
            .await
            {
                Err(ConnectError::Refused { status, body, .. }) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{mode:?}");
                    assert_eq!(body, Bytes::from_static(b"refused as asked\n"));
                }
                other => panic!("{mode:?}: expected a refusal, got {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_request_no_hyper_server_carried_is_500_not_a_panic() {
    use tower::ServiceExt as _;
    // A valid opening request, but handed to the router directly: no upgrade handle.
    let request = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(axum::body::Body::empty())
        .unwrap();
    let app = Router::new().route("/ws", any(axum_handler));
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
