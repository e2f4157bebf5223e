//! wintergreen's broadcast server: `accept` (the default options), then `WebSocketStream::split` into a
//! reader (`Stream`) and a writer (`Sink`) of `Message`; the writer sends
//! `Message::binary(payload)` of the hub's `Bytes`.

use anyhow::Result;
use tokio::net::TcpStream;
use wintergreen::Message;

use super::{Hub, serve_halves};

/// The broadcast server's connection handler.
pub(crate) async fn serve(tcp: TcpStream, hub: Hub) -> Result<()> {
    tcp.set_nodelay(true)?;
    let (ws, _request) = wintergreen::accept(tcp).await?;
    let (reader, writer) = ws.split();
    serve_halves(reader, writer, hub, Message::binary, |m| match m {
        Message::Binary(b) => Some(b),
        Message::Text(t) => Some(t.into()),
        _ => None,
    })
    .await
}
