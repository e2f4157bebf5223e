//! tokio-websockets' broadcast server: `ServerBuilder::accept`, then `StreamExt::split`
//! (futures) into a `Stream` and a `Sink` of `Message`; the writer sends
//! `Message::binary` of the hub's `Bytes`.

use anyhow::Result;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::net::TcpStream;
use tokio_websockets::{Message, ServerBuilder};

use super::{Hub, serve_halves};

/// The broadcast server's connection handler.
pub(crate) async fn serve(tcp: TcpStream, hub: Hub) -> Result<()> {
    tcp.set_nodelay(true)?;
    let (_request, ws) = ServerBuilder::new().accept(tcp).await?;
    let (writer, reader) = ws.split();
    serve_halves(reader, writer, hub, Message::binary, |m| {
        (m.is_binary() || m.is_text()).then(|| Bytes::from(m.into_payload()))
    })
    .await
}
