//! tokio-tungstenite: `client_async`/`accept_async` on a socket, `Stream` + `Sink`.

use std::net::SocketAddr;

use anyhow::Result;
use bytes::Bytes;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{Kind, echo_stream, serve_stream};

fn kind(message: &Message) -> Kind {
    match message {
        Message::Binary(_) | Message::Text(_) => Kind::Data,
        Message::Close(_) => Kind::Close,
        _ => Kind::Control,
    }
}

/// A client connection.
pub(crate) struct Client(WebSocketStream<TcpStream>);

impl super::EchoClient for Client {
    async fn connect(addr: SocketAddr, _payload: &Bytes) -> Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (ws, _response) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp).await?;
        Ok(Self(ws))
    }

    async fn echo(&mut self, payload: &Bytes, burst: usize) -> Result<()> {
        echo_stream(&mut self.0, burst, Message::Binary(payload.clone()), kind).await
    }
}

/// The echo server's connection handler.
pub(crate) async fn serve(tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    let mut ws = tokio_tungstenite::accept_async(tcp).await?;
    serve_stream(&mut ws, kind).await
}
