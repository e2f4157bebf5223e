//! The main job: an echo server and a client, talking over loopback with both HTTP versions.
//!
//! ```text
//! cargo run --example quickstart --features http2
//! ```
//! The server listens on 127.0.0.1 (an ephemeral port) and speaks both HTTP/1.1 (RFC 6455
//! upgrade) and h2c with extended CONNECT (RFC 8441) on the same port: the library's
//! `ServerBuilder::listen` tells them apart by each connection's first bytes (the HTTP/2
//! connection preface). permessage-deflate is on at both ends.
//!
//! The client connects once over HTTP/1.1 and once over HTTP/2, sends a few messages,
//! checks the echoes, and closes with the close handshake. Everything is printed; the exit
//! status is 0 only if both runs succeed (within a time limit).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use wintergreen::{CloseCode, Error, Http2Mode, Message, WebSocketListener};

/// The whole run, server and client, must end within this.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// Echoes data messages until the peer closes.
async fn echo<S>(mut ws: S, who: String)
where
    S: futures_util::Stream<Item = Result<Message, Error>>
        + futures_util::Sink<Message, Error = Error>
        + Unpin,
{
    while let Some(message) = ws.next().await {
        match message {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
            Ok(Message::Close(frame)) => println!("[server] {who}: peer closed with {frame:?}"),
            Ok(_) => {}
            Err(err) => {
                println!("[server] {who}: connection error: {err}");
                break;
            }
        }
    }
    println!("[server] {who}: connection ended");
}

/// Takes each WebSocket the listener accepted (over either HTTP version; many per HTTP/2
/// connection) and echoes it in a task of its own.
async fn server(mut listener: WebSocketListener) {
    while let Some(next) = listener.accept().await {
        match next {
            Ok(accepted) => {
                let who = format!(
                    "{} {} over {:?}",
                    accepted.peer,
                    accepted.request.uri().path(),
                    accepted.websocket.http_version()
                );
                println!("[server] accepted {who}");
                tokio::spawn(echo(accepted.websocket, who));
            }
            Err(err) => println!("[server] {err}"),
        }
    }
}

/// One client run: connect with `mode`, exchange messages, check the echoes, close.
async fn client(url: &str, mode: Http2Mode) -> Result<(), Box<dyn std::error::Error>> {
    // The facade's defaults: permessage-deflate is offered.
    let mut options = wintergreen::client_options();
    options.connect.http2 = mode;
    let (mut ws, response) = wintergreen::connect_with(url, &options).await?;
    let extension = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    println!(
        "[client] connected over {:?}: {} (extension: {extension})",
        ws.get_ref().http_version(),
        response.status(),
    );
    let big = "wintergreen ".repeat(1000);
    let messages = [
        Message::text("hello"),
        Message::text("from"),
        Message::text("wintergreen"),
        Message::binary(vec![0xde, 0xad, 0xbe, 0xef]),
        Message::text(big),
    ];
    for message in messages {
        ws.send(message.clone()).await?;
        let reply = ws.next().await.ok_or("the server closed early")??;
        if reply != message {
            return Err(format!("echo mismatch: sent {message:?}, got {reply:?}").into());
        }
        match &reply {
            Message::Text(text) if text.len() > 64 => {
                println!("[client] echo: text of {} bytes, intact", text.len());
            }
            _ => println!("[client] echo: {reply:?}"),
        }
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    println!("[client] closed cleanly (1000 \"done\", echoed by the server)");
    Ok(())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The facade's defaults: permessage-deflate is accepted when a client offers it.
    let listener = wintergreen::ServerBuilder::new()
        .listen("127.0.0.1:0".parse()?)
        .await?;
    let addr = listener.local_addr();
    println!("[server] listening on ws://{addr}/ (HTTP/1.1 and h2c, permessage-deflate on)");
    tokio::spawn(server(listener));
    println!("--- HTTP/1.1 ---");
    client(&format!("ws://{addr}/echo"), Http2Mode::Off).await?;
    println!("--- HTTP/2 ---");
    client(&format!("ws://{addr}/echo"), Http2Mode::Require).await?;
    // Let the server print the end of the last connection.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match tokio::time::timeout(TIME_LIMIT, run()).await {
        Ok(Ok(())) => {
            println!("ok: both HTTP versions echoed every message");
            ExitCode::SUCCESS
        }
        Ok(Err(err)) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: timed out after {TIME_LIMIT:?}");
            ExitCode::FAILURE
        }
    }
}
