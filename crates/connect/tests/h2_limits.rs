#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! HTTP/2 peers that stall or wait on us: the close handshake over a stream (RFC 8441 §5),
//! and the timeouts and limits that bound what a stalling peer can hold.

#![cfg(feature = "http2")]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use tokio::net::TcpListener;
use wintergreen_connect::ClientOptions;
use wintergreen_connect::http2::{Http2Client, h2};
use wintergreen_stream::{CloseCode, Runtime};

const LIMIT: Duration = Duration::from_secs(30);

fn runtime() -> Arc<dyn Runtime> {
    Arc::new(wintergreen_tokio::Tokio)
}

async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

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
    let options = ClientOptions::default().close_timeout(Duration::from_secs(10));
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
