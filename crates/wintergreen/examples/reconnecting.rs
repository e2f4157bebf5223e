#![allow(clippy::print_stdout, clippy::print_stderr)]
//! A long-lived client: keep-alive pings detect a dead peer, and a lost connection is
//! re-established with exponential backoff (0.5 s doubling up to 30 s, reset after a
//! successful connect).
//!
//! ```text
//! cargo run --example reconnecting -- wss://example.com/feed
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use wintergreen::{KeepAlive, Message};

const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/".to_owned());
    // A ping after 20 s without a byte from the peer; silent 10 s more, it is treated as gone.
    let builder = || {
        wintergreen::ClientBuilder::new(url.as_str())
            .keepalive(KeepAlive::new(
                Duration::from_secs(20),
                Duration::from_secs(10),
            ))
            .connect_timeout(Duration::from_secs(10))
    };
    let mut backoff = MIN_BACKOFF;
    loop {
        match builder().connect().await {
            Ok((mut ws, _)) => {
                println!("connected to {url}");
                backoff = MIN_BACKOFF;
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Text(text)) => println!("< {text}"),
                        Ok(Message::Binary(bytes)) => println!("< [{} bytes]", bytes.len()),
                        Ok(_) => {}
                        Err(err) => {
                            eprintln!("connection lost: {err}");
                            break;
                        }
                    }
                }
                println!("disconnected");
            }
            Err(err) => eprintln!("connect failed: {err}"),
        }
        println!("reconnecting in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
