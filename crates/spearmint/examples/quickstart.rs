//! The main job: an echo server and a client, talking over loopback.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//! The server accepts WebSockets on 127.0.0.1 (an ephemeral port) and echoes every data
//! message; the client connects, sends a few messages, reads the echoes, and closes the
//! connection with the close handshake. Everything that happens is printed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use spearmint::{CloseCode, Message};
use tokio::net::TcpListener;

async fn echo_server(listener: TcpListener) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let (mut ws, request) = match spearmint::accept(tcp).await {
                Ok(accepted) => accepted,
                Err(err) => {
                    println!("[server] rejected {peer}: {err}");
                    return;
                }
            };
            println!("[server] accepted {peer} for {}", request.uri());
            while let Some(message) = ws.next().await {
                match message {
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                        if ws.send(message).await.is_err() {
                            break;
                        }
                    }
                    Ok(Message::Close(frame)) => println!("[server] peer closed: {frame:?}"),
                    Ok(_) => {}
                    Err(err) => {
                        println!("[server] connection error: {err}");
                        break;
                    }
                }
            }
            println!("[server] connection with {peer} ended");
        });
    }
}

async fn client(url: &str) -> Result<(), spearmint::Error> {
    let (mut ws, response) = spearmint::connect(url).await?;
    println!(
        "[client] connected: {} {:?}",
        response.status(),
        response.version()
    );
    for text in ["hello", "from", "spearmint"] {
        ws.send(Message::text(text)).await?;
        match ws.next().await {
            Some(Ok(reply)) => println!("[client] echo: {reply:?}"),
            Some(Err(err)) => return Err(err),
            None => break,
        }
    }
    ws.send(Message::binary(vec![0xde, 0xad, 0xbe, 0xef]))
        .await?;
    if let Some(reply) = ws.next().await {
        println!("[client] echo: {:?}", reply?);
    }
    ws.close(CloseCode::NORMAL, "done").await?;
    println!("[client] closed cleanly");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("cannot bind a loopback port: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("no local address: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("[server] listening on ws://{addr}/");
    tokio::spawn(echo_server(listener));
    let url = format!("ws://{addr}/echo");
    match tokio::time::timeout(Duration::from_secs(30), client(&url)).await {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("[client] error: {err}");
            std::process::ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("[client] timed out");
            std::process::ExitCode::FAILURE
        }
    }
}
