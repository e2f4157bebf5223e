//! [`Transport`]: the byte stream under a WebSocket opened on a futures-io runtime.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

/// The byte stream under a WebSocket that `connect` opened on smol or async-std: a TCP
/// connection, a TLS connection (`wss://`, feature `rustls`) or one stream of an HTTP/2
/// connection (feature `http2`). It speaks the tokio-io traits (through
/// [`Compat`]) that wintergreen's driver is written against.
#[derive(Debug)]
pub struct Transport<T> {
    inner: Inner<T>,
}

#[derive(Debug)]
enum Inner<T> {
    Tcp(Compat<T>),
    #[cfg(feature = "rustls")]
    Tls(Box<Compat<futures_rustls::client::TlsStream<T>>>),
    #[cfg(feature = "http2")]
    Http2(wintergreen_http2::H2Stream),
}

impl<T> Transport<T>
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    /// Wraps a TCP stream.
    pub fn from_tcp(tcp: T) -> Self {
        Self {
            inner: Inner::Tcp(tcp.compat()),
        }
    }

    /// Wraps a TLS stream.
    #[cfg(feature = "rustls")]
    pub fn from_tls(tls: futures_rustls::client::TlsStream<T>) -> Self {
        Self {
            inner: Inner::Tls(Box::new(tls.compat())),
        }
    }
}

impl<T> Transport<T> {
    /// Wraps one stream of an HTTP/2 connection.
    #[cfg(feature = "http2")]
    pub fn from_http2(stream: wintergreen_http2::H2Stream) -> Self {
        Self {
            inner: Inner::Http2(stream),
        }
    }

    /// The HTTP version the WebSocket was opened with: `HTTP_11` or `HTTP_2`.
    pub fn http_version(&self) -> http::Version {
        match &self.inner {
            #[cfg(feature = "http2")]
            Inner::Http2(_) => http::Version::HTTP_2,
            _ => http::Version::HTTP_11,
        }
    }

    /// Whether this is a stream of an HTTP/2 connection.
    pub fn is_http2(&self) -> bool {
        self.http_version() == http::Version::HTTP_2
    }

    /// The TCP connection, for an HTTP/1.1 WebSocket (under TLS for `wss://`).
    pub fn tcp(&self) -> Option<&T> {
        match &self.inner {
            Inner::Tcp(tcp) => Some(tcp.get_ref()),
            #[cfg(feature = "rustls")]
            Inner::Tls(tls) => Some(tls.get_ref().get_ref().0),
            #[cfg(feature = "http2")]
            Inner::Http2(_) => None,
        }
    }

    /// The TLS connection, for an HTTP/1.1 WebSocket over `wss://`.
    #[cfg(feature = "rustls")]
    pub fn tls(&self) -> Option<&futures_rustls::client::TlsStream<T>> {
        match &self.inner {
            Inner::Tls(tls) => Some(tls.get_ref()),
            _ => None,
        }
    }

    /// The HTTP/2 stream, for a WebSocket over HTTP/2.
    #[cfg(feature = "http2")]
    pub fn http2(&self) -> Option<&wintergreen_http2::H2Stream> {
        match &self.inner {
            Inner::Http2(stream) => Some(stream),
            _ => None,
        }
    }
}

macro_rules! delegate {
    ($self:ident, $io:ident => $e:expr) => {
        match &mut $self.get_mut().inner {
            Inner::Tcp($io) => $e,
            #[cfg(feature = "rustls")]
            Inner::Tls($io) => $e,
            #[cfg(feature = "http2")]
            Inner::Http2($io) => $e,
        }
    };
}

impl<T> AsyncRead for Transport<T>
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl<T> AsyncWrite for Transport<T>
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_shutdown(cx))
    }
}
