//! The libraries under test, each behind the same two operations: a client connection that
//! echoes one message at a time, and a server connection handler that echoes every data
//! message back. One file per library.

mod fastwebsockets;
mod tokio_websockets;
mod tungstenite;
mod wintergreen;

use std::net::SocketAddr;

use anyhow::{Result, bail};
use bytes::Bytes;
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::net::TcpStream;
use wintergreen_bench_e2e::floor;

/// A library, or the library-free floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Lib {
    Floor,
    Wintergreen,
    TokioTungstenite,
    Fastwebsockets,
    TokioWebsockets,
}

impl Lib {
    /// Every library, the floor first (the report's column order).
    pub(crate) const ALL: [Lib; 5] = [
        Lib::Floor,
        Lib::Wintergreen,
        Lib::TokioTungstenite,
        Lib::Fastwebsockets,
        Lib::TokioWebsockets,
    ];

    /// The name on the command line and in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Lib::Floor => "floor",
            Lib::Wintergreen => "wintergreen",
            Lib::TokioTungstenite => "tokio-tungstenite",
            Lib::Fastwebsockets => "fastwebsockets",
            Lib::TokioWebsockets => "tokio-websockets",
        }
    }
}

/// A client connection that sends binary messages and waits for their echoes.
pub(crate) trait EchoClient: Sized + 'static {
    /// Connects to an echo server at `addr` and upgrades; `payload` is what every echo sends.
    async fn connect(addr: SocketAddr, payload: &Bytes) -> Result<Self>;
    /// Sends `payload` as `burst` binary messages, all queued before one flush (the
    /// library's way to send a burst), then reads their `burst` echoes.
    async fn echo(&mut self, payload: &Bytes, burst: usize) -> Result<()>;
}

impl EchoClient for floor::FloorClient {
    async fn connect(addr: SocketAddr, payload: &Bytes) -> Result<Self> {
        floor::FloorClient::connect(addr, payload).await
    }

    async fn echo(&mut self, _payload: &Bytes, burst: usize) -> Result<()> {
        floor::FloorClient::echo(self, burst).await
    }
}

/// What a received message is to an echo loop.
pub(crate) enum Kind {
    /// Text or binary: echoed.
    Data,
    /// The peer's close.
    Close,
    /// Ping or pong (the libraries answer pings themselves).
    Control,
}

/// One burst over a library's `Stream` + `Sink` of messages: `burst` copies of `message`
/// fed, one flush (for one message: `send`), then the replies read.
pub(crate) async fn echo_stream<S, M, E>(
    ws: &mut S,
    burst: usize,
    message: M,
    kind: fn(&M) -> Kind,
) -> Result<()>
where
    S: Stream<Item = Result<M, E>> + Sink<M, Error = E> + Unpin,
    M: std::fmt::Debug + Clone,
    E: std::error::Error + Send + Sync + 'static,
{
    for _ in 1..burst {
        ws.feed(message.clone()).await?;
    }
    ws.feed(message).await?;
    ws.flush().await?;
    for _ in 0..burst {
        match ws.next().await {
            Some(Ok(reply)) if matches!(kind(&reply), Kind::Data) => {}
            other => bail!("expected the echo, got {other:?}"),
        }
    }
    Ok(())
}

/// A server's echo loop over a library's `Stream` + `Sink` of messages.
///
/// It borrows the stream, which stays in the caller's frame: taken by value, the stream
/// would be stored twice in the task (once as this future's argument, once as its local),
/// charging every idle connection a second copy of the library's connection.
pub(crate) async fn serve_stream<S, M, E>(ws: &mut S, kind: fn(&M) -> Kind) -> Result<()>
where
    S: Stream<Item = Result<M, E>> + Sink<M, Error = E> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    while let Some(message) = ws.next().await {
        let message = message?;
        match kind(&message) {
            Kind::Data => ws.send(message).await?,
            Kind::Close => break,
            Kind::Control => {}
        }
    }
    Ok(())
}

pub(crate) type FloorClient = floor::FloorClient;
pub(crate) type WintergreenClient = wintergreen::Client;
pub(crate) type TungsteniteClient = tungstenite::Client;
pub(crate) type FastwebsocketsClient = fastwebsockets::Client;
pub(crate) type TokioWebsocketsClient = tokio_websockets::Client;

/// Serves one accepted connection as `lib`'s echo server, on a task of its own, until the
/// peer leaves (errors end the connection).
///
/// One `spawn_local` per library, so that each task holds its own library's future: a task
/// is as large as its future, and one future matching over every library would be as large
/// as the largest, charging every server's idle connections with it.
pub(crate) fn spawn_serve(lib: Lib, tcp: TcpStream) {
    fn spawn(serving: impl std::future::Future<Output = Result<()>> + 'static) {
        // The future itself is the task: wrapping it in `async move { serving.await }`
        // would store it twice (as the captured value and as the awaited one).
        drop(tokio::task::spawn_local(serving));
    }
    match lib {
        Lib::Floor => spawn(async move {
            tcp.set_nodelay(true)?;
            floor::serve(tcp).await
        }),
        Lib::Wintergreen => spawn(wintergreen::serve(tcp)),
        Lib::TokioTungstenite => spawn(tungstenite::serve(tcp)),
        Lib::Fastwebsockets => spawn(fastwebsockets::serve(tcp)),
        Lib::TokioWebsockets => spawn(tokio_websockets::serve(tcp)),
    }
}
