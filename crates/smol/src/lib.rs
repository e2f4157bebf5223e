//! # wintergreen-smol
//!
//! smol as a wintergreen [`Runtime`]: async-io timers, `smol::spawn`, DNS and TCP
//! (`TCP_NODELAY` set; sockets reach the tokio-io traits through
//! [`compat`](wintergreen_stream::compat)). Nothing else lives here: connecting, TLS,
//! HTTP/2 and accepting are written once, in wintergreen-connect, against any [`Runtime`].
//! Most users want the `wintergreen` facade crate (feature `runtime-smol`) instead.

#![deny(missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use wintergreen_stream::compat::FuturesAsyncReadCompatExt as _;
use wintergreen_stream::{BoxFuture, Runtime, Sleep, TcpListener, TcpStream};

/// The smol runtime (its global executor and async-io reactor).
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

impl Runtime for Smol {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(async move {
            async_io::Timer::at(deadline).await;
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        smol::spawn(task).detach();
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { smol::net::resolve((host.as_str(), port)).await })
    }

    fn tcp_connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<TcpStream>> {
        Box::pin(async move { wrap(smol::net::TcpStream::connect(addr).await?) })
    }

    fn tcp_listen(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TcpListener>>> {
        Box::pin(async move {
            let listener = smol::net::TcpListener::bind(addr).await?;
            Ok(Box::new(Listener(listener)) as Box<dyn TcpListener>)
        })
    }
}

#[derive(Debug)]
struct Listener(smol::net::TcpListener);

impl TcpListener for Listener {
    fn accept(&self) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move { wrap(self.0.accept().await?.0) })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn wrap(tcp: smol::net::TcpStream) -> io::Result<TcpStream> {
    tcp.set_nodelay(true)?;
    let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
    Ok(TcpStream::new(tcp.compat(), peer, local))
}
