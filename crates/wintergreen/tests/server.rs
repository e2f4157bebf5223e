#![cfg(feature = "runtime-tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! Our client against our server on tokio: both HTTP versions (HTTP/2 with the `http2`
//! feature), with and without permessage-deflate; a policy's rejection reaches the client
//! as a typed `UpgradeFailed` with its status; subprotocols are negotiated end to end; and
//! the hyper-free `wintergreen::upgrade` path serves a client.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{bounded, echo, serve};
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use wintergreen::handshake::Rejection;
use wintergreen::{ClientOptions, CloseCode, ConnectError, Http2Mode, Message, ServerOptions};

/// Whether the connection starts with the HTTP/2 preface (peeked, not read).
async fn is_http2(tcp: &TcpStream) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";
    let mut buf = [0u8; PREFACE.len()];
    loop {
        let Ok(n) = tcp.peek(&mut buf).await else {
            return false;
        };
        if n == 0 || !PREFACE.starts_with(&buf[..n]) {
            return false;
        }
        if n == PREFACE.len() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// An echo server speaking HTTP/1.1 and (with the `http2` feature) h2c on one port.
async fn server(options: ServerOptions) -> SocketAddr {
    serve(move |tcp| {
        let options = options.clone();
        async move {
            if is_http2(&tcp).await {
                #[cfg(feature = "http2")]
                if let Ok(mut acceptor) = wintergreen::tokio::http2::accept(tcp, &options).await {
                    while let Some(Ok((ws, _))) = acceptor.accept().await {
                        tokio::spawn(echo(ws));
                    }
                }
            } else if let Ok((ws, _)) = wintergreen::accept_with(tcp, &options).await {
                echo(ws).await;
            }
        }
    })
    .await
}

fn modes() -> Vec<Http2Mode> {
    let mut modes = vec![Http2Mode::Off];
    if cfg!(feature = "http2") {
        modes.push(Http2Mode::Require);
    }
    modes
}

/// Connects, checks the HTTP version and the negotiated extension, exchanges messages (one
/// large and compressible), and closes cleanly.
async fn round_trip(addr: SocketAddr, options: &ClientOptions, expect_deflate: bool) {
    let url = format!("ws://{addr}/echo");
    let (mut ws, response) = wintergreen::connect_with(url, options).await.unwrap();
    let want_version = if options.connect.http2 == Http2Mode::Off {
        http::Version::HTTP_11
    } else {
        http::Version::HTTP_2
    };
    assert_eq!(ws.get_ref().http_version(), want_version);
    let extension = response.headers().get("sec-websocket-extensions");
    assert_eq!(
        extension.is_some_and(|v| v.as_bytes().starts_with(b"permessage-deflate")),
        expect_deflate,
        "{extension:?}"
    );
    let big = "abcdefgh".repeat(20_000);
    for message in [
        Message::text("hello"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text(big),
        Message::text(""),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), message);
    }
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
}

/// The default client options, over `mode`.
fn client(mode: Http2Mode) -> ClientOptions {
    let mut options = wintergreen::client_options();
    options.connect.http2 = mode;
    options
}

#[tokio::test]
async fn client_and_server_talk_over_both_versions_with_deflate() {
    let addr = server(wintergreen::server_options()).await;
    for mode in modes() {
        let options = client(mode);
        bounded(round_trip(addr, &options, cfg!(feature = "deflate"))).await;
    }
}

#[tokio::test]
async fn client_and_server_talk_over_both_versions_without_deflate() {
    // A client that offers nothing, to a server that would accept deflate.
    let addr = server(wintergreen::server_options()).await;
    for mode in modes() {
        let mut options = client(mode);
        options.handshake.extensions.clear();
        bounded(round_trip(addr, &options, false)).await;
    }
    // A client that offers deflate, to a server that accepts no extension.
    let mut options = ServerOptions::default();
    options.handshake.policy = options.handshake.policy.no_extensions();
    let addr = server(options).await;
    for mode in modes() {
        let options = client(mode);
        bounded(round_trip(addr, &options, false)).await;
    }
}

fn origin_checked() -> ServerOptions {
    let mut options = wintergreen::server_options();
    options.handshake.policy =
        options
            .handshake
            .policy
            .check(|request| match request.headers().get("origin") {
                Some(origin) if origin == "https://good.example" => Ok(()),
                _ => Err(Rejection::new(StatusCode::FORBIDDEN).with_body("bad origin\n")),
            });
    options
}

#[tokio::test]
async fn a_policy_rejection_reaches_the_client_as_upgrade_failed_with_its_status() {
    let addr = server(origin_checked()).await;
    for mode in modes() {
        let err = bounded(
            wintergreen::ClientBuilder::new(format!("ws://{addr}/"))
                .http2(mode)
                .header("Origin", "https://evil.example")
                .connect(),
        )
        .await
        .unwrap_err();
        match err {
            ConnectError::Refused { status, body, .. } => {
                assert_eq!(status, StatusCode::FORBIDDEN, "{mode:?}");
                assert_eq!(&body[..], b"bad origin\n", "{mode:?}");
            }
            other => panic!("{mode:?}: not a refusal: {other:?}"),
        }
        // The right origin is let in.
        let mut options = client(mode);
        options.handshake.headers.insert(
            "origin",
            http::HeaderValue::from_static("https://good.example"),
        );
        bounded(round_trip(addr, &options, cfg!(feature = "deflate"))).await;
    }
}

#[tokio::test]
async fn subprotocols_are_negotiated_end_to_end() {
    let mut options = wintergreen::server_options();
    options.handshake.policy = options
        .handshake
        .policy
        .subprotocols(["chat.v2", "chat.v1"]);
    let addr = server(options).await;
    for mode in modes() {
        // The server's preference wins among the client's offers.
        let (mut ws, response) = bounded(
            wintergreen::ClientBuilder::new(format!("ws://{addr}/"))
                .http2(mode)
                .subprotocol("chat.v1")
                .subprotocol("chat.v2")
                .connect(),
        )
        .await
        .unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v2");
        ws.send(Message::text("x")).await.unwrap();
        assert_eq!(
            bounded(ws.next()).await.unwrap().unwrap(),
            Message::text("x")
        );
        bounded(ws.close(CloseCode::NORMAL, "")).await.unwrap();

        // Nothing in common: accepted without a subprotocol (RFC 6455 §4.2.2).
        let (mut ws, response) = bounded(
            wintergreen::ClientBuilder::new(format!("ws://{addr}/"))
                .http2(mode)
                .subprotocol("other")
                .connect(),
        )
        .await
        .unwrap();
        assert!(!response.headers().contains_key("sec-websocket-protocol"));
        bounded(ws.close(CloseCode::NORMAL, "")).await.unwrap();
    }
}

/// The `wintergreen::upgrade` helpers serve a client when the HTTP/1.1 request was read by
/// someone else (here: by hand, standing in for hyper).
#[tokio::test]
async fn the_upgrade_helpers_serve_a_request_read_elsewhere() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut reader = BufReader::new(tcp);
        let mut request = http::Request::get("/").version(http::Version::HTTP_11);
        let mut first = true;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if first {
                first = false;
                let path = line.split(' ').nth(1).unwrap().to_owned();
                request = request.uri(path);
            } else {
                let (name, value) = line.split_once(':').unwrap();
                request = request.header(name.trim(), value.trim());
            }
        }
        let request = request.body(()).unwrap();
        assert!(reader.buffer().is_empty());
        let mut tcp = reader.into_inner();
        let (response, pending) =
            wintergreen::upgrade::response_for(&request, &wintergreen::server_options()).unwrap();
        let mut head = format!("HTTP/1.1 {}\r\n", response.status());
        for (name, value) in response.headers() {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
        head.push_str("\r\n");
        tcp.write_all(head.as_bytes()).await.unwrap();
        echo(wintergreen::upgrade::from_upgraded(tcp, pending)).await;
    });
    bounded(round_trip(
        addr,
        &wintergreen::client_options(),
        cfg!(feature = "deflate"),
    ))
    .await;
}
