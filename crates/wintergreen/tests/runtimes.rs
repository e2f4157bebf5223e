#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Our client against our server on smol and async-std, through the facade, with and without
//! permessage-deflate (tokio's round trips are in `server.rs`).
#![cfg(all(
    feature = "runtime-smol",
    feature = "runtime-async-std",
    feature = "deflate"
))]

use std::time::Duration;

use wintergreen::{ClientOptions, CloseCode, Message, ServerOptions, WebSocketStream};

const LIMIT: Duration = Duration::from_secs(20);

async fn echo<IO>(mut ws: WebSocketStream<IO>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = ws.next_message().await {
        if message.is_data() && ws.send_message(message).await.is_err() {
            break;
        }
    }
}

/// Sends a compressible message and a small one, checks the echoes, closes cleanly.
async fn talk<IO>(ws: &mut WebSocketStream<IO>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let big = "wintergreen ".repeat(5000);
    for text in [big.as_str(), "hello"] {
        ws.send_message(Message::text(text)).await.unwrap();
        let reply = ws.next_message().await.unwrap().unwrap();
        assert_eq!(reply, Message::text(text));
    }
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
}

fn negotiated(response: &http::Response<()>) -> bool {
    response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("permessage-deflate"))
}

/// (client options, server options, whether deflate must be negotiated)
fn cases() -> [(ClientOptions, ServerOptions, bool); 3] {
    [
        (
            wintergreen::client_options(),
            wintergreen::server_options(),
            true,
        ),
        (
            wintergreen::client_options().no_extensions(),
            wintergreen::server_options(),
            false,
        ),
        (
            wintergreen::client_options(),
            ServerOptions::default(),
            false,
        ),
    ]
}

#[test]
fn smol_client_and_server_with_and_without_deflate() {
    smol::block_on(async {
        for (client, server, deflate) in cases() {
            let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let serve = smol::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let (ws, _) = wintergreen::smol::accept_with(tcp, &server).await.unwrap();
                echo(ws).await;
            });
            let run = async {
                let (mut ws, response) =
                    wintergreen::smol::connect_with(url, &client).await.unwrap();
                assert_eq!(negotiated(&response), deflate);
                talk(&mut ws).await;
            };
            let timeout = async {
                smol::Timer::after(LIMIT).await;
                panic!("timed out");
            };
            smol::future::or(run, timeout).await;
            serve.await;
        }
    });
}

#[test]
fn async_std_client_and_server_with_and_without_deflate() {
    async_std::task::block_on(async {
        for (client, server, deflate) in cases() {
            let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let serve = async_std::task::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let (ws, _) = wintergreen::async_std::accept_with(tcp, &server)
                    .await
                    .unwrap();
                echo(ws).await;
            });
            let run = async {
                let (mut ws, response) = wintergreen::async_std::connect_with(url, &client)
                    .await
                    .unwrap();
                assert_eq!(negotiated(&response), deflate);
                talk(&mut ws).await;
            };
            async_std::future::timeout(LIMIT, run)
                .await
                .expect("timed out");
            serve.await;
        }
    });
}
