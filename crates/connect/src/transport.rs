//! [`Transport`]: the byte stream under a WebSocket opened by [`connect`](crate::connect),
//! on any runtime.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wintergreen_stream::TcpStream;

/// The byte stream under a WebSocket that [`connect`](crate::connect) opened, the same type
/// on every runtime: a TCP connection after an HTTP/1.1 upgrade, a TLS connection (`wss://`, with the `rustls`
/// feature) or, with the `http2` feature, one stream of an HTTP/2 connection (RFC 8441,
/// itself over TCP or TLS). The type is the same whatever features are on; ask it
/// which one it is.
#[derive(Debug)]
pub struct Transport {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Tcp(TcpStream),
    #[cfg(feature = "rustls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    #[cfg(feature = "http2")]
    Http2(wintergreen_http2::H2Stream),
}

impl Transport {
    /// The HTTP version the WebSocket was opened with: `HTTP_11` or `HTTP_2`.
    pub fn http_version(&self) -> http::Version {
        match &self.inner {
            Inner::Tcp(_) => http::Version::HTTP_11,
            #[cfg(feature = "rustls")]
            Inner::Tls(_) => http::Version::HTTP_11,
            #[cfg(feature = "http2")]
            Inner::Http2(_) => http::Version::HTTP_2,
        }
    }

    /// Whether this is a stream of an HTTP/2 connection.
    pub fn is_http2(&self) -> bool {
        self.http_version() == http::Version::HTTP_2
    }

    /// The TCP connection, for an HTTP/1.1 WebSocket (under TLS for `wss://`).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match &self.inner {
            Inner::Tcp(tcp) => Some(tcp),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Some(tls.get_ref().0),
            #[cfg(feature = "http2")]
            Inner::Http2(_) => None,
        }
    }

    /// The TLS connection, for an HTTP/1.1 WebSocket over `wss://` (e.g. to see the
    /// negotiated ALPN protocol or the peer's certificates).
    #[cfg(feature = "rustls")]
    pub fn tls(&self) -> Option<&tokio_rustls::client::TlsStream<TcpStream>> {
        match &self.inner {
            Inner::Tls(tls) => Some(tls),
            _ => None,
        }
    }

    /// The HTTP/2 stream, for a WebSocket over HTTP/2 (e.g. to see why it was reset).
    #[cfg(feature = "http2")]
    pub fn http2(&self) -> Option<&wintergreen_http2::H2Stream> {
        match &self.inner {
            Inner::Http2(stream) => Some(stream),
            _ => None,
        }
    }
}

impl From<TcpStream> for Transport {
    fn from(tcp: TcpStream) -> Self {
        Self {
            inner: Inner::Tcp(tcp),
        }
    }
}

#[cfg(feature = "rustls")]
impl From<tokio_rustls::client::TlsStream<TcpStream>> for Transport {
    fn from(tls: tokio_rustls::client::TlsStream<TcpStream>) -> Self {
        Self {
            inner: Inner::Tls(Box::new(tls)),
        }
    }
}

#[cfg(feature = "http2")]
impl From<wintergreen_http2::H2Stream> for Transport {
    fn from(stream: wintergreen_http2::H2Stream) -> Self {
        Self {
            inner: Inner::Http2(stream),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Tcp(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => tls.is_write_vectored(),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Pin::new(tls).poll_flush(cx),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
            #[cfg(feature = "http2")]
            Inner::Http2(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
