//! # wintergreen-async-std
//!
//! **async-std is discontinued upstream; new code should use smol and wintergreen-smol**
//! (async-std's own successor recommendation). This adapter is kept deliberately thin for
//! existing async-std applications.
//!
//! async-std as a wintergreen [`Runtime`]: `async_std::task::{sleep, spawn}`, DNS and TCP
//! (`TCP_NODELAY` set; sockets reach the tokio-io traits through
//! [`compat`](wintergreen_stream::compat)). Nothing else lives here: connecting, TLS,
//! HTTP/2 and accepting are written once, in wintergreen-connect, against any [`Runtime`].
//! Most users want the `wintergreen` facade crate (feature `runtime-async-std`) instead.

#![deny(missing_docs)]

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use async_std::net::ToSocketAddrs as _;
use wintergreen_stream::compat::FuturesAsyncReadCompatExt as _;
use wintergreen_stream::{BoxFuture, Runtime, Sleep, TcpListener, TcpStream};

/// The async-std runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let duration = deadline.saturating_duration_since(Instant::now());
        Box::pin(async_std::task::sleep(duration))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(async_std::task::spawn(task));
    }

    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok((host.as_str(), port).to_socket_addrs().await?.collect()) })
    }

    fn tcp_connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<TcpStream>> {
        Box::pin(async move { wrap(async_std::net::TcpStream::connect(addr).await?) })
    }

    fn tcp_listen(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TcpListener>>> {
        Box::pin(async move {
            let listener = async_std::net::TcpListener::bind(addr).await?;
            Ok(Box::new(Listener(listener)) as Box<dyn TcpListener>)
        })
    }
}

#[derive(Debug)]
struct Listener(async_std::net::TcpListener);

impl TcpListener for Listener {
    fn accept(&self) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move { wrap(self.0.accept().await?.0) })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn wrap(tcp: async_std::net::TcpStream) -> io::Result<TcpStream> {
    tcp.set_nodelay(true)?;
    let (peer, local) = (tcp.peer_addr()?, tcp.local_addr()?);
    Ok(TcpStream::new(Socket(tcp).compat(), peer, local))
}

/// An async-std socket whose `poll_close` ends its write half (`shutdown(Write)`, a TCP
/// FIN). async-std's own only flushes, so the peer would see our end only when the socket
/// is dropped: a server that ends its half after the close handshake and reads on until
/// the client's end (RFC 6455 §7.1.1; `Session::should_end_write`) would wait out the
/// close timeout against a client that waits for the server's end.
#[derive(Debug)]
struct Socket(async_std::net::TcpStream);

impl async_std::io::Read for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl async_std::io::Write for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Poll::Ready(self.0.shutdown(Shutdown::Write))
    }
}
