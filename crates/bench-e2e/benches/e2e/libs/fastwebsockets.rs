//! fastwebsockets: `WebSocket::after_handshake` on a socket upgraded by the floor's
//! hand-made handshake (fastwebsockets leaves the upgrade to hyper; keeping hyper out
//! compares the frame path alone), `read_frame`/`write_frame` as in its echo example.

use std::net::SocketAddr;

use anyhow::{Result, bail};
use bytes::Bytes;
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
use tokio::net::TcpStream;

/// A client connection.
pub(crate) struct Client(WebSocket<TcpStream>);

impl super::EchoClient for Client {
    async fn connect(addr: SocketAddr, _payload: &Bytes) -> Result<Self> {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        wintergreen_bench_e2e::floor::client_upgrade(&mut tcp, &addr.to_string()).await?;
        Ok(Self(WebSocket::after_handshake(tcp, Role::Client)))
    }

    async fn echo(&mut self, payload: &Bytes, burst: usize) -> Result<()> {
        // A client frame is masked in place, so a borrowed payload is copied first: the
        // library's own way for a payload the caller keeps. `write_frame` writes each frame
        // out at once: the library has no separate flush.
        for _ in 0..burst {
            self.0
                .write_frame(Frame::binary(Payload::Borrowed(payload)))
                .await?;
        }
        for _ in 0..burst {
            let frame = self.0.read_frame().await?;
            if frame.opcode != OpCode::Binary {
                bail!("expected a binary echo, got {:?}", frame.opcode);
            }
        }
        Ok(())
    }
}

/// The echo server's connection handler.
pub(crate) async fn serve(mut tcp: TcpStream) -> Result<()> {
    tcp.set_nodelay(true)?;
    wintergreen_bench_e2e::floor::server_upgrade(&mut tcp).await?;
    let mut ws = WebSocket::after_handshake(tcp, Role::Server);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}
