#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The Autobahn HTTP/2 → HTTP/1.1 bridge (`examples/autobahn_h2_bridge.rs`), end to end:
//! an HTTP/2 client, the bridge, and our own HTTP/1.1 server behind it.

#![cfg(feature = "http2")]

#[path = "../../http2/examples/autobahn_h2_bridge.rs"]
#[allow(dead_code, unreachable_pub)]
mod bridge;

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode};
use wintergreen_connect::http2::Http2Client;
use wintergreen_connect::{ClientOptions, ConnectError};
use wintergreen_handshake::{AcceptPolicy, Rejection};
use wintergreen_http1::ServerConfig;
use wintergreen_stream::{CloseCode, Message, StreamConfig};

mod tokio_common;

use tokio_common::{bounded, listener, runtime};

async fn client(addr: SocketAddr) -> Http2Client {
    let url = format!("ws://{addr}");
    wintergreen_connect::http2::connect(&runtime(), url, &options())
        .await
        .unwrap()
}

fn ws_request(addr: SocketAddr, path: &str) -> Request<()> {
    Request::get(format!("ws://{addr}{path}")).body(()).unwrap()
}

fn options() -> ClientOptions {
    ClientOptions::default()
}

async fn websocket(
    client: &Http2Client,
    request: Request<()>,
    options: &ClientOptions,
) -> Result<
    (
        wintergreen_stream::WebSocketStream<wintergreen_connect::http2::H2Stream>,
        http::Response<()>,
    ),
    ConnectError,
> {
    wintergreen_connect::http2::websocket(client, request, options).await
}

/// An HTTP/1.1 WebSocket server (wintergreen's own) that first tells the client its request
/// target, then echoes; "close me" makes it close with 4000. Path `/forbidden` is refused.
async fn http1_server() -> SocketAddr {
    let (listener, addr) = listener().await;
    let mut config = ServerConfig::default();
    config.policy = AcceptPolicy::new().subprotocols(["echo"]).check(|request| {
        if request.uri().path() == "/forbidden" {
            Err(Rejection::new(StatusCode::FORBIDDEN).with_body("not here"))
        } else {
            Ok(())
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let config = config.clone();
            tokio::spawn(async move {
                let Ok((mut ws, request)) = wintergreen_connect::server_handshake(
                    tcp,
                    config,
                    StreamConfig::default(),
                    Some(runtime()),
                )
                .await
                else {
                    return;
                };
                let target = request.uri().to_string();
                if ws.send(Message::text(target)).await.is_err() {
                    return;
                }
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        Message::Text(text) if text == "close me" => {
                            let _ = ws.close(CloseCode::from(4000), "as asked").await;
                            return;
                        }
                        message @ (Message::Text(_) | Message::Binary(_)) => {
                            let sent = ws.send(message).await;
                            if sent.is_err() {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    addr
}

async fn bridge_to(upstream: SocketAddr) -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(bridge::serve(listener, upstream));
    addr
}

#[tokio::test]
async fn the_bridge_relays_a_websocket_over_http2_to_http1() {
    let upstream = http1_server().await;
    let bridge = bridge_to(upstream).await;
    let client = client(bridge).await;

    let mut options = options();
    options.handshake.subprotocols.push("echo".to_owned());
    let (mut ws, response) = bounded(websocket(
        &client,
        ws_request(bridge, "/runCase?case=3&agent=wintergreen-http2"),
        &options,
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["sec-websocket-protocol"], "echo");
    // The upstream saw the same path and query.
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::text("/runCase?case=3&agent=wintergreen-http2")
    );
    ws.send(Message::text("über h2")).await.unwrap();
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::text("über h2")
    );
    let big: Vec<u8> = (0..(3 << 20)).map(|i: u32| i as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::binary(big)
    );
    // A client-initiated close crosses the bridge and ends cleanly.
    bounded(ws.close(CloseCode::NORMAL, "done")).await.unwrap();
    assert!(ws.get_ref().is_end_stream(), "TCP EOF became END_STREAM");
}

#[tokio::test]
async fn a_server_initiated_close_crosses_the_bridge() {
    let upstream = http1_server().await;
    let bridge = bridge_to(upstream).await;
    let client = client(bridge).await;
    let (mut ws, _) = bounded(websocket(&client, ws_request(bridge, "/"), &options()))
        .await
        .unwrap();
    bounded(ws.next()).await.unwrap().unwrap();
    ws.send(Message::text("close me")).await.unwrap();
    match bounded(ws.next()).await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4000),
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(bounded(ws.next()).await.is_none(), "clean end");
}

#[tokio::test]
async fn the_bridge_relays_a_refusal() {
    let upstream = http1_server().await;
    let bridge = bridge_to(upstream).await;
    let client = client(bridge).await;
    let err = bounded(websocket(
        &client,
        ws_request(bridge, "/forbidden"),
        &options(),
    ))
    .await
    .unwrap_err();
    match err {
        ConnectError::Refused { status, body, .. } => {
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(&body[..], b"not here");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn many_websockets_cross_the_bridge_on_one_connection() {
    let upstream = http1_server().await;
    let bridge = bridge_to(upstream).await;
    let client = client(bridge).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = websocket(&client, ws_request(bridge, &format!("/{i}")), &options())
                .await
                .unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::text(format!("/{i}"))
            );
            for j in 0..10 {
                ws.send(Message::text(format!("{i}.{j}"))).await.unwrap();
                assert_eq!(
                    ws.next().await.unwrap().unwrap(),
                    Message::text(format!("{i}.{j}"))
                );
            }
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }));
    }
    for task in tasks {
        bounded(task).await.unwrap();
    }
}
