#![cfg(all(feature = "http2", feature = "runtime-tokio"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The facade's HTTP/2 options on tokio: `Http2Mode::Prefer` falls back to HTTP/1.1 against
//! an HTTP/1.1-only server and uses HTTP/2 against an h2c server; `Require` does not fall
//! back; shared connections through `wintergreen::tokio::http2`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{bounded, echo, serve};
use futures_util::{SinkExt, StreamExt};
use wintergreen::{
    ClientOptions, CloseCode, ConnectError, Http2Mode, Message, ServerOptions, Transport,
    WebSocketStream,
};

/// An HTTP/1.1-only echo server (`wintergreen::accept`); counts TCP connections.
async fn http1_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let addr = serve(move |tcp| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if let Ok((ws, _)) = wintergreen::accept(tcp).await {
                echo(ws).await;
            }
        }
    })
    .await;
    (addr, connections)
}

/// An h2c WebSocket echo server (`wintergreen::tokio::http2::accept`).
async fn http2_server() -> SocketAddr {
    serve(|tcp| async move {
        let Ok(mut acceptor) =
            wintergreen::tokio::http2::accept(tcp, &ServerOptions::default()).await
        else {
            return;
        };
        while let Some(Ok((ws, _))) = acceptor.accept().await {
            tokio::spawn(echo(ws));
        }
    })
    .await
}

/// An h2 server that does not enable extended CONNECT.
async fn plain_h2_server() -> SocketAddr {
    serve(|tcp| async move {
        let Ok(mut connection) = wintergreen::http2::h2::server::handshake(tcp).await else {
            return;
        };
        while let Some(Ok((_, mut respond))) = connection.accept().await {
            let _ = respond.send_response(http::Response::new(()), true);
        }
    })
    .await
}

async fn round_trip<IO>(ws: &mut wintergreen::WebSocketStream<IO>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text("ping?")).await.unwrap();
    assert_eq!(
        bounded(ws.next()).await.unwrap().unwrap(),
        Message::text("ping?")
    );
    bounded(ws.close(CloseCode::NORMAL, "")).await.unwrap();
}

/// Connects to `ws://{addr}/` with `mode`, within the test's time bound.
async fn connect(
    addr: SocketAddr,
    mode: Http2Mode,
) -> Result<(WebSocketStream<Transport>, http::Response<()>), ConnectError> {
    bounded(
        wintergreen::ClientBuilder::new(format!("ws://{addr}/"))
            .http2(mode)
            .connect(),
    )
    .await
}

#[tokio::test]
async fn prefer_falls_back_to_http1_against_an_http1_only_server() {
    let (addr, connections) = http1_server().await;
    let (mut ws, response) = connect(addr, Http2Mode::Prefer).await.unwrap();
    assert_eq!(response.status(), 101);
    assert!(!ws.get_ref().is_http2());
    assert_eq!(ws.get_ref().http_version(), http::Version::HTTP_11);
    round_trip(&mut ws).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "the HTTP/2 attempt, then a new connection for HTTP/1.1"
    );
}

#[tokio::test]
async fn prefer_uses_http2_when_the_server_offers_it() {
    let addr = http2_server().await;
    let (mut ws, response) = connect(addr, Http2Mode::Prefer).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(ws.get_ref().is_http2());
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn prefer_falls_back_when_extended_connect_is_disabled() {
    // An h2-only server without the setting: the fallback is tried (and fails, as that
    // server cannot speak HTTP/1.1), so the error is the HTTP/1.1 handshake's.
    let addr = plain_h2_server().await;
    let err = bounded(
        wintergreen::ClientBuilder::new(format!("ws://{addr}/"))
            .http2(Http2Mode::Prefer)
            .handshake_timeout(Duration::from_secs(5))
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Http1(_) | ConnectError::Handshake(_) | ConnectError::Io(_)
        ),
        "Prefer must fall back to HTTP/1.1, not stop at {err:?}"
    );
}

#[tokio::test]
async fn require_does_not_fall_back() {
    let addr = plain_h2_server().await;
    let err = connect(addr, Http2Mode::Require).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Http2(wintergreen::http2::Error::ExtendedConnectDisabled)
        ),
        "{err:?}"
    );

    let (addr, connections) = http1_server().await;
    let err = connect(addr, Http2Mode::Require).await.unwrap_err();
    let ConnectError::Http2(source) = &err else {
        panic!("expected the HTTP/2 preface error, got {err:?}");
    };
    assert!(matches!(source, wintergreen::http2::Error::Preface(_)));
    assert!(source.is_http2_unsupported());
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "no second connection"
    );
}

/// An h2 server with extended CONNECT on that resets every stream (RST_STREAM
/// REFUSED_STREAM) instead of answering.
async fn resetting_h2_server() -> SocketAddr {
    serve(|tcp| async move {
        let mut builder = wintergreen::http2::h2::server::Builder::new();
        builder.enable_connect_protocol();
        let Ok(mut connection) = builder.handshake::<_, bytes::Bytes>(tcp).await else {
            return;
        };
        while let Some(Ok((_, mut respond))) = connection.accept().await {
            respond.send_reset(wintergreen::http2::h2::Reason::REFUSED_STREAM);
        }
    })
    .await
}

/// A reset is the peer's doing, and its message says so (and says HTTP/2 once).
#[tokio::test]
async fn a_stream_the_server_resets_is_reported_as_the_peers_reset() {
    let addr = resetting_h2_server().await;
    let err = connect(addr, Http2Mode::Require).await.unwrap_err();
    let ConnectError::Http2(wintergreen::http2::Error::H2(h2)) = &err else {
        panic!("expected an h2 error, got {err:?}");
    };
    assert!(h2.is_reset() && h2.is_remote(), "{h2:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("the peer reset the HTTP/2 stream (RST_STREAM): "),
        "{message}"
    );
    assert_eq!(message.matches("HTTP/2").count(), 1, "{message}");
}

#[tokio::test]
async fn the_builder_connects_over_http2() {
    let addr = http2_server().await;
    let (mut ws, _) = bounded(
        wintergreen::ClientBuilder::new(format!("ws://{addr}/chat"))
            .http2(Http2Mode::Require)
            .connect(),
    )
    .await
    .unwrap();
    assert!(ws.get_ref().is_http2());
    round_trip(&mut ws).await;
}

#[tokio::test]
async fn many_websockets_share_one_connection_on_tokio() {
    let addr = http2_server().await;
    let client = bounded(wintergreen::tokio::http2::connect(
        format!("ws://{addr}"),
        &Default::default(),
    ))
    .await
    .unwrap();
    let options = ClientOptions::default();
    let mut sockets = Vec::new();
    for i in 0..10 {
        let request = http::Request::get(format!("ws://{addr}/{i}"))
            .body(())
            .unwrap();
        sockets.push(
            bounded(wintergreen::http2::websocket(&client, request, &options))
                .await
                .unwrap()
                .0,
        );
    }
    for ws in &mut sockets {
        round_trip(ws).await;
    }
}
