#![allow(clippy::print_stdout)]
//! WebSockets over a transport the workspace does not ship — an in-memory duplex pipe —
//! written only against the public APIs of the codec, handshake, HTTP/1.1 and driver crates:
//! the HTTP/1.1 opening handshake by hand (sans-IO), then the driver over the same bytes. A
//! Unix socket, a serial line or a QUIC stream works the same way: anything that is
//! `tokio::io::{AsyncRead, AsyncWrite}` (a futures-io one through `stream::compat`).
//!
//! ```text
//! cargo run --example custom_transport
//! ```

use std::error::Error;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use wintergreen::codec::{CloseCode, Config, Message, Role};
use wintergreen::handshake::{AcceptPolicy, ClientRequest, session_for};
use wintergreen::http1::{ClientHandshake, Limits, ServerDecision, ServerHandshake};
use wintergreen::stream::{StreamConfig, WebSocketStream};

type BoxError = Box<dyn Error + Send + Sync>;

/// Feeds what `io` delivers to a sans-IO handshake until it has a result.
async fn read_until<T>(
    io: &mut DuplexStream,
    mut feed: impl FnMut(&[u8]) -> Result<Option<T>, wintergreen::http1::Error>,
) -> Result<T, BoxError> {
    let mut buf = [0_u8; 4096];
    loop {
        let n = io.read(&mut buf).await?;
        let read = buf.get(..n).unwrap_or_default();
        if n == 0 {
            return Err("the pipe closed during the handshake".into());
        }
        if let Some(done) = feed(read)? {
            return Ok(done);
        }
    }
}

/// The server: judge the request, answer 101, then echo text until the close.
async fn server(mut io: DuplexStream) -> Result<(), BoxError> {
    let mut handshake = ServerHandshake::new(AcceptPolicy::new(), Limits::default());
    let ServerDecision::Accept(accepted) = read_until(&mut io, |b| handshake.receive(b)).await?
    else {
        return Err("refused".into());
    };
    io.write_all(&accepted.response_bytes).await?;
    let mut session = session_for(Role::Server, &Config::default(), accepted.extension);
    session.receive(Instant::now(), &accepted.leftover);
    let mut ws = WebSocketStream::from_session(io, session, StreamConfig::default(), None);
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            ws.send(Message::text(format!("echo: {text}"))).await?;
        }
    }
    Ok(())
}

/// The client: send the upgrade request, read the 101, talk, close. Returns the reply.
pub async fn run() -> Result<String, BoxError> {
    let (mut io, server_io) = tokio::io::duplex(64 << 10);
    let server = tokio::spawn(server(server_io));
    let request = ClientRequest::from_url("ws://in-memory/chat", Default::default())?;
    let mut handshake = ClientHandshake::new(request, Limits::default())?;
    io.write_all(handshake.request_bytes()).await?;
    let accepted = read_until(&mut io, |b| handshake.receive(b)).await?;
    let mut session = session_for(Role::Client, &Config::default(), accepted.extension);
    session.receive(Instant::now(), &accepted.leftover);
    let mut ws = WebSocketStream::from_session(io, session, StreamConfig::default(), None);
    ws.send(Message::text("hello over a pipe")).await?;
    let reply = match ws.next().await {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => return Err(format!("unexpected {other:?}").into()),
    };
    ws.close(CloseCode::NORMAL, "done").await?;
    server.await??;
    Ok(reply)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!("{}", run().await?);
    Ok(())
}
