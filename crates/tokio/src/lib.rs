//! # wintergreen-tokio
//!
//! tokio as a wintergreen [`Runtime`]: tokio's clock and timers, `tokio::spawn`, DNS
//! (`lookup_host`) and TCP (`TCP_NODELAY` set). Nothing else lives here: connecting,
//! TLS, HTTP/2 and accepting are written once, in wintergreen-connect, against any
//! [`Runtime`]. Most users want the `wintergreen` facade crate (feature `runtime-tokio`,
//! on by default) instead.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use wintergreen_stream::Runtime as _;
//!
//! let runtime = wintergreen_tokio::Tokio;
//! let listener = runtime.tcp_listen("127.0.0.1:0".parse().unwrap()).await?;
//! # drop(listener); Ok(()) }
//! ```

#![deny(missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use wintergreen_stream::{BoxFuture, Runtime, Sleep, TcpListener, TcpStream};

/// The tokio runtime. Its futures must run inside a tokio runtime with the time and I/O
/// drivers enabled.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Tokio {
    /// Whether the caller runs inside a tokio runtime, where this runtime's futures can
    /// run (they panic elsewhere, as tokio's own do).
    pub fn is_current() -> bool {
        tokio::runtime::Handle::try_current().is_ok()
    }
}

impl Runtime for Tokio {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(tokio::spawn(task));
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }

    fn tcp_connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<TcpStream>> {
        Box::pin(async move { wrap(tokio::net::TcpStream::connect(addr).await?) })
    }

    fn tcp_listen(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TcpListener>>> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            Ok(Box::new(Listener(listener)) as Box<dyn TcpListener>)
        })
    }
}

#[derive(Debug)]
struct Listener(tokio::net::TcpListener);

impl TcpListener for Listener {
    fn accept(&self) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move { wrap(self.0.accept().await?.0) })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn wrap(tcp: tokio::net::TcpStream) -> io::Result<TcpStream> {
    tcp.set_nodelay(true)?;
    let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
    Ok(TcpStream::new(tcp, peer, local))
}
