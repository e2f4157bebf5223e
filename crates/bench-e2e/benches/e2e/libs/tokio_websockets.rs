//! tokio-websockets: `ClientBuilder::connect_on`/`ServerBuilder::accept` on a socket,
//! `Stream` + `Sink`.

use std::net::SocketAddr;

use anyhow::Result;
use bytes::Bytes;
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, Message, ServerBuilder, WebSocketStream};

use super::{Kind, echo_stream, serve_stream};

fn kind(message: &Message) -> Kind {
    if message.is_binary() || message.is_text() {
        Kind::Data
    } else if message.is_close() {
        Kind::Close
    } else {
        Kind::Control
    }
}

/// A client connection.
pub(crate) struct Client(WebSocketStream<TcpStream>);

impl super::EchoClient for Client {
    async fn connect(addr: SocketAddr, _payload: &Bytes) -> Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let uri = format!("ws://{addr}/").parse()?;
        let (ws, _response) = ClientBuilder::from_uri(uri).connect_on(tcp).await?;
        Ok(Self(ws))
    }

    async fn echo(&mut self, payload: &Bytes, burst: usize) -> Result<()> {
        echo_stream(&mut self.0, burst, Message::binary(payload.clone()), kind).await
    }
}

/// The echo server's connection handler.
pub(crate) async fn serve(tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    let (_, mut ws) = ServerBuilder::new().accept(tcp).await?;
    serve_stream(&mut ws, kind).await
}
