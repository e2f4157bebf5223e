#![allow(clippy::print_stdout, clippy::print_stderr)]
//! A minimal client: connect (ws:// or wss://), send one message, print the reply, close.
//!
//! ```text
//! cargo run --example client -- wss://echo.websocket.org/
//! ```

use futures_util::{SinkExt, StreamExt};
use wintergreen::{CloseCode, Message};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/".to_owned());
    let (mut ws, response) = wintergreen::connect(url.as_str()).await?;
    println!("connected to {url}: {}", response.status());
    ws.send(Message::text("hello from wintergreen")).await?;
    if let Some(reply) = ws.next().await {
        println!("received {:?}", reply?);
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    Ok(())
}
