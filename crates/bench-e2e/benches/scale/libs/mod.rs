//! Each library's broadcast server, written the way its users write one (the shape of axum's
//! chat example): the connection is split, a writer task relays every message of a
//! `tokio::sync::broadcast` channel (the hub) to its half, and the reader puts every data
//! message it receives on the hub, so one message from any client reaches every connection.
//! The hub carries `Bytes`: a payload that each writer wraps in its library's message (a
//! reference count, no copy), and each library encodes a frame of it per connection. The
//! floor encodes the frame once (a server frame is unmasked, so the same bytes serve every
//! connection) and each writer writes those bytes. One file per library.

mod fastwebsockets;
mod tokio_websockets;
mod tungstenite;
mod wintergreen;

use anyhow::{Result, bail};
use bytes::Bytes;
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use wintergreen_bench_e2e::floor;

use crate::e2e_libs::Lib;

/// What every connection of a broadcast server subscribes to.
pub(crate) type Hub = broadcast::Sender<Bytes>;

/// Messages the hub keeps for a writer that lags (the benchmark sends one broadcast at a
/// time and waits for every client to have it, so no writer lags).
const HUB_CAPACITY: usize = 16;

/// The largest frame a broadcast server reads (the largest broadcast is 16 KiB).
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

/// A fresh hub.
pub(crate) fn hub() -> Hub {
    broadcast::channel(HUB_CAPACITY).0
}

/// Whether `lib` has a broadcast server here (fastwebsockets has none: see
/// `fastwebsockets.rs`).
pub(crate) fn has_broadcast(lib: Lib) -> bool {
    !matches!(lib, Lib::Fastwebsockets)
}

/// Serves one accepted connection as `lib`'s handshake server: the e2e echo server (it
/// ends when the client leaves), except fastwebsockets, whose upgrade here is hyper's as
/// its users write it (the e2e adapter upgrades by hand, which would measure the floor).
pub(crate) fn spawn_handshake(lib: Lib, tcp: TcpStream) {
    match lib {
        Lib::Fastwebsockets => drop(tokio::task::spawn_local(fastwebsockets::serve(tcp))),
        _ => crate::e2e_libs::spawn_serve(lib, tcp),
    }
}

/// Serves one accepted connection as `lib`'s broadcast server, on a task of its own, until
/// the peer leaves (errors end the connection).
pub(crate) fn spawn_broadcast(lib: Lib, tcp: TcpStream, hub: &Hub) {
    let hub = hub.clone();
    // One `spawn_local` per library, as in the e2e servers: a task is as large as its future.
    fn spawn(serving: impl std::future::Future<Output = Result<()>> + 'static) {
        drop(tokio::task::spawn_local(serving));
    }
    match lib {
        Lib::Floor => spawn(serve_floor(tcp, hub)),
        Lib::Wintergreen => spawn(wintergreen::serve(tcp, hub)),
        Lib::TokioTungstenite => spawn(tungstenite::serve(tcp, hub)),
        Lib::TokioWebsockets => spawn(tokio_websockets::serve(tcp, hub)),
        Lib::Fastwebsockets => drop(tcp),
    }
}

/// The next message on the hub; `None` once the hub is gone. A writer that lagged skips
/// what it missed, as a chat server would.
async fn next(rx: &mut broadcast::Receiver<Bytes>) -> Option<Bytes> {
    loop {
        match rx.recv().await {
            Ok(bytes) => return Some(bytes),
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// A task aborted when this is dropped: a connection's writer ends with its reader.
struct Writer(JoinHandle<Result<()>>);

impl Drop for Writer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A library's connection, split into a `Stream` and a `Sink` of its messages: a writer task
/// relays the hub to `sink` as `to_message(payload)`, and every data message's payload
/// (`payload_of`) goes on the hub.
async fn serve_halves<R, W, M, E>(
    mut stream: R,
    sink: W,
    hub: Hub,
    to_message: fn(Bytes) -> M,
    payload_of: fn(M) -> Option<Bytes>,
) -> Result<()>
where
    R: Stream<Item = Result<M, E>> + Unpin,
    W: Sink<M, Error = E> + Unpin + 'static,
    M: 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut rx = hub.subscribe();
    let _writer = Writer(tokio::task::spawn_local(async move {
        let mut sink = sink;
        while let Some(payload) = next(&mut rx).await {
            sink.send(to_message(payload)).await?;
        }
        anyhow::Ok(())
    }));
    while let Some(message) = stream.next().await {
        if let Some(payload) = payload_of(message?) {
            // No subscriber is not an error: every connection may have gone.
            let _ = hub.send(payload);
        }
    }
    Ok(())
}

/// The floor: the hand-made upgrade, then the frame encoded once per broadcast and its
/// bytes written to every connection.
async fn serve_floor(mut tcp: TcpStream, hub: Hub) -> Result<()> {
    tcp.set_nodelay(true)?;
    floor::server_upgrade(&mut tcp).await?;
    let (mut read, mut write) = tcp.into_split();
    let mut rx = hub.subscribe();
    let _writer = Writer(tokio::task::spawn_local(async move {
        while let Some(frame) = next(&mut rx).await {
            write.write_all(&frame).await?;
        }
        anyhow::Ok(())
    }));
    // Only the trigger connection sends, once per broadcast: exact reads are enough.
    let mut payload = Vec::new();
    while let Some(opcode) = floor::read_frame(&mut read, &mut payload, MAX_MESSAGE).await? {
        match opcode {
            0x1 | 0x2 => {
                let _ = hub.send(Bytes::from(floor::server_frame(opcode, &payload)));
            }
            0x8 => break,
            0x9 | 0xa => {}
            _ => bail!("the floor reads unfragmented messages only"),
        }
    }
    Ok(())
}
