//! Telling HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) from HTTP/1.1 on a plain
//! connection by its first bytes, and [`Rewind`], which hands those bytes back to whichever
//! side then reads the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client connection preface of HTTP/2 (RFC 9113 §3.4).
#[cfg(feature = "http2")]
pub(crate) const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which HTTP version a connection's first bytes speak.
#[cfg(feature = "http2")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// The whole HTTP/2 client preface.
    Http2,
    /// Bytes that cannot begin the preface: HTTP/1.1 (or garbage, for its parser to judge).
    Http1,
}

/// Reads `io` until its first bytes either diverge from the HTTP/2 preface or complete it.
/// Reads at most the preface's 24 bytes (the returned bytes), waiting on the socket only —
/// the caller bounds the wait with the handshake timeout.
///
/// # Errors
/// I/O, or [`io::ErrorKind::UnexpectedEof`] when the client closes before deciding.
#[cfg(feature = "http2")]
pub(crate) async fn sniff<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<(Sniffed, Bytes)> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let mut filled = 0;
    loop {
        let seen = buf.get(..filled).unwrap_or_default();
        if !H2_PREFACE.starts_with(seen) {
            return Ok((Sniffed::Http1, Bytes::copy_from_slice(seen)));
        }
        if filled == H2_PREFACE.len() {
            return Ok((Sniffed::Http2, Bytes::copy_from_slice(seen)));
        }
        let rest = buf.get_mut(filled..).unwrap_or_default();
        let mut read = ReadBuf::new(rest);
        std::future::poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, &mut read)).await?;
        let n = read.filled().len();
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed before its first request",
            ));
        }
        filled += n;
    }
}

/// `IO` with bytes already read from it put back in front: reads return `prefix` first.
#[derive(Debug)]
pub struct Rewind<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO> Rewind<IO> {
    /// `io`, whose reads return `prefix` first.
    pub(crate) fn new(prefix: Bytes, io: IO) -> Self {
        Self { prefix, io }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            if let Some(head) = this.prefix.get(..n) {
                buf.put_slice(head);
            }
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Feeds `chunks` to `sniff` through a pipe, one write each.
    #[cfg(feature = "http2")]
    async fn sniff_chunks(chunks: &[&[u8]]) -> io::Result<(Sniffed, Bytes)> {
        let (mut client, mut server) = tokio::io::duplex(1024);
        for chunk in chunks {
            client.write_all(chunk).await?;
        }
        drop(client);
        sniff(&mut server).await
    }

    #[cfg(feature = "http2")]
    #[tokio::test]
    async fn the_whole_preface_is_http2_even_split() -> io::Result<()> {
        let (first, second) = H2_PREFACE.split_at(5);
        let (kind, seen) = sniff_chunks(&[first, second, b"more"]).await?;
        assert_eq!(kind, Sniffed::Http2);
        assert_eq!(&seen[..], &H2_PREFACE[..]);
        Ok(())
    }

    #[cfg(feature = "http2")]
    #[tokio::test]
    async fn a_get_is_http1_after_its_first_byte() -> io::Result<()> {
        let (kind, seen) = sniff_chunks(&[b"GET / HTTP/1.1\r\n\r\n"]).await?;
        assert_eq!(kind, Sniffed::Http1);
        assert!(b"GET / HTTP/1.1\r\n\r\n".starts_with(&seen));
        assert!(seen.len() <= H2_PREFACE.len());
        Ok(())
    }

    #[cfg(feature = "http2")]
    #[tokio::test]
    async fn a_preface_that_diverges_late_is_http1() -> io::Result<()> {
        let (kind, seen) = sniff_chunks(&[b"PRI * HTTP/2.0\r\n\r\nXX"]).await?;
        assert_eq!(kind, Sniffed::Http1);
        // Every byte read is handed back, for the HTTP/1.1 parser to judge.
        assert_eq!(&seen[..], b"PRI * HTTP/2.0\r\n\r\nXX");
        Ok(())
    }

    #[cfg(feature = "http2")]
    #[tokio::test]
    async fn eof_before_a_decision_is_an_error() {
        let err = sniff_chunks(&[b"PRI * HT"]).await.err();
        assert_eq!(
            err.map(|err| err.kind()),
            Some(io::ErrorKind::UnexpectedEof)
        );
    }

    #[tokio::test]
    async fn rewind_reads_the_prefix_then_the_stream() -> io::Result<()> {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b" world").await?;
        drop(client);
        let mut rewound = Rewind::new(Bytes::from_static(b"hello"), server);
        let mut all = Vec::new();
        rewound.read_to_end(&mut all).await?;
        assert_eq!(all, b"hello world");
        Ok(())
    }
}
