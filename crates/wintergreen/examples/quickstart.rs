//! The main job: an echo server and a client, talking over loopback with both HTTP versions.
//!
//! ```text
//! cargo run --example quickstart --features http2
//! ```
//! The server listens on 127.0.0.1 (an ephemeral port) and speaks both HTTP/1.1 (RFC 6455
//! upgrade) and h2c with extended CONNECT (RFC 8441) on the same port: it peeks at the
//! first bytes of each connection, and the HTTP/2 connection preface (`PRI * HTTP/2.0`)
//! sends it to the HTTP/2 acceptor. permessage-deflate is on at both ends.
//!
//! The client connects once over HTTP/1.1 and once over HTTP/2, sends a few messages,
//! checks the echoes, and closes with the close handshake. Everything is printed; the exit
//! status is 0 only if both runs succeed (within a time limit).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use wintergreen::{CloseCode, Error, Http2Mode, Message, ServerOptions};

/// The client connection preface of HTTP/2 (RFC 9113 §3.4); its first line is enough.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// The whole run, server and client, must end within this.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// Whether a fresh connection starts with the HTTP/2 preface. Peeks (reads nothing), until
/// the bytes seen either diverge from the preface or cover its first line.
async fn is_http2(tcp: &TcpStream) -> std::io::Result<bool> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = tcp.peek(&mut buf).await?;
        let seen = buf.get(..n).unwrap_or_default();
        if n == 0 || !H2_PREFACE.starts_with(seen) {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        // A prefix of the preface so far: wait for more bytes to arrive.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

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

/// Serves one TCP connection: HTTP/2 (many WebSockets per connection) or HTTP/1.1.
async fn serve(tcp: TcpStream, peer: SocketAddr, options: ServerOptions) {
    let http2 = match tokio::time::timeout(options.accept.handshake_timeout, is_http2(&tcp)).await {
        Ok(Ok(http2)) => http2,
        Ok(Err(err)) => return println!("[server] {peer}: {err}"),
        Err(_) => return println!("[server] {peer}: sent nothing in time"),
    };
    if http2 {
        let mut acceptor = match wintergreen::tokio::http2::accept(tcp, &options).await {
            Ok(acceptor) => acceptor,
            Err(err) => return println!("[server] {peer}: HTTP/2 handshake failed: {err}"),
        };
        println!("[server] {peer}: HTTP/2 connection (h2c, extended CONNECT enabled)");
        while let Some(accepted) = acceptor.accept().await {
            match accepted {
                Ok((ws, request)) => {
                    let who = format!("{peer} {} over HTTP/2", request.uri().path());
                    println!("[server] accepted {who}");
                    tokio::spawn(echo(ws, who));
                }
                Err(err) => println!("[server] {peer}: HTTP/2 error: {err}"),
            }
        }
    } else {
        match wintergreen::accept_with(tcp, &options).await {
            Ok((ws, request)) => {
                let who = format!("{peer} {} over HTTP/1.1", request.uri().path());
                println!("[server] accepted {who}");
                echo(ws, who).await;
            }
            Err(err) => println!("[server] {peer}: rejected: {err}"),
        }
    }
}

async fn server(listener: TcpListener) {
    // The facade's defaults: permessage-deflate is accepted when a client offers it.
    let options = wintergreen::server_options();
    while let Ok((tcp, peer)) = listener.accept().await {
        let _ = tcp.set_nodelay(true);
        tokio::spawn(serve(tcp, peer, options.clone()));
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
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
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
