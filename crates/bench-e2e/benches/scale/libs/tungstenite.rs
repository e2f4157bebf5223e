//! tokio-tungstenite's broadcast server: `accept_async`, then `StreamExt::split` (futures)
//! into a `Stream` and a `Sink` of `Message`; the writer sends `Message::Binary` of the hub's
//! `Bytes`.

use anyhow::Result;
use futures_util::StreamExt as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::{Hub, serve_halves};

/// The broadcast server's connection handler.
pub(crate) async fn serve(tcp: TcpStream, hub: Hub) -> Result<()> {
    tcp.set_nodelay(true)?;
    let ws = tokio_tungstenite::accept_async(tcp).await?;
    let (writer, reader) = ws.split();
    serve_halves(reader, writer, hub, Message::Binary, |m| match m {
        Message::Binary(b) => Some(b),
        Message::Text(t) => Some(t.into()),
        _ => None,
    })
    .await
}
