//! Every use of wintergreen's API in the benchmark, so that a rename is a change to this file
//! alone. Only the facade's most stable surface: `connect`/`accept`, which take the
//! runtime-agnostic default options (`ClientOptions::default()`, `ServerOptions::default()`;
//! this crate builds wintergreen without `deflate`, so no permessage-deflate offer or
//! acceptance: the matrix compares plain frames), and `WebSocketStream` as `Stream` + `Sink`
//! of `Message`. These are the calls the README shows; `accept_with(tcp,
//! &ServerOptions::default())` would also keep the options (about 360 bytes) in each
//! connection's task (see the facade's "Memory per connection").

use std::net::SocketAddr;

use anyhow::Result;
use bytes::Bytes;
use tokio::net::TcpStream;
use wintergreen::{Message, WebSocketStream};

use super::{Kind, echo_stream, serve_stream};

fn kind(message: &Message) -> Kind {
    match message {
        Message::Binary(_) | Message::Text(_) => Kind::Data,
        Message::Close(_) => Kind::Close,
        _ => Kind::Control,
    }
}

/// A client connection.
pub(crate) struct Client(WebSocketStream<wintergreen::tokio::Transport>);

impl super::EchoClient for Client {
    async fn connect(addr: SocketAddr, _payload: &Bytes) -> Result<Self> {
        let (ws, _response) = wintergreen::connect(format!("ws://{addr}/")).await?;
        Ok(Self(ws))
    }

    async fn echo(&mut self, payload: &Bytes, burst: usize) -> Result<()> {
        echo_stream(&mut self.0, burst, Message::binary(payload.clone()), kind).await
    }
}

/// The echo server's connection handler.
pub(crate) async fn serve(tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    // The request is dropped at once (`_`): a named binding would keep it in the task.
    let (mut ws, _) = wintergreen::accept(tcp).await?;
    serve_stream(&mut ws, kind).await
}
