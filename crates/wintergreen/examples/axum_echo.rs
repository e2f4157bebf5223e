//! A WebSocket echo server in axum, over HTTP/1.1 (`GET` + `Upgrade`, answered 101) and
//! h2c (extended CONNECT, RFC 8441, answered 200) on one port.
//!
//! ```text
//! cargo run --example axum_echo --features axum [-- --listen 127.0.0.1:8080]
//! wintergreen connect ws://127.0.0.1:8080/ws
//! ```
//! `/ws` upgrades with [`wintergreen::axum::WebSocketUpgrade`]: permessage-deflate when the
//! client offers it (the default policy), subprotocol `echo.v1` when offered, and every
//! text and binary message echoed. A request there that is no WebSocket opening gets a
//! 4xx (a plain `GET`: 400). `/` answers plain HTTP. `cargo xtask interop` runs Python's
//! `websockets` client against it. It runs until killed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::net::SocketAddr;

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use futures_util::{SinkExt, StreamExt};
use wintergreen::axum::{Message, WebSocket, WebSocketUpgrade};

/// `any`: HTTP/1.1 opens a WebSocket with GET, HTTP/2 with CONNECT.
fn app() -> Router {
    Router::new()
        .route("/ws", any(upgrade))
        .route("/", get(|| async { "a WebSocket echo is at /ws\n" }))
}

async fn upgrade(ws: WebSocketUpgrade) -> Response {
    println!(
        "[server] {:?} request, offered subprotocols {:?}",
        ws.version(),
        ws.requested_protocols().collect::<Vec<_>>()
    );
    ws.protocols(["echo.v1"]).on_upgrade(echo)
}

/// Echoes text and binary messages; pings and the close handshake are the library's.
async fn echo(mut ws: WebSocket) {
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            return;
        }
    }
}

/// `--listen IP:PORT`; 127.0.0.1:8080 without it.
fn listen_addr() -> Result<SocketAddr, Box<dyn Error>> {
    match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Ok(SocketAddr::from(([127, 0, 0, 1], 8080))),
        [flag, addr] if flag == "--listen" => Ok(addr.parse()?),
        _ => Err("usage: axum_echo [--listen IP:PORT]".into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let addr = listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("[server] axum listening on http://{addr}/ (HTTP/1.1 and h2c), WebSocket at /ws");
    // axum::serve speaks HTTP/1.1 and h2c, with upgrades and extended CONNECT enabled.
    axum::serve(listener, app()).await?;
    Ok(())
}
