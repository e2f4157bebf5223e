//! [`FirstFrame`]: notes the type of the first frame a server sends, so that a client can
//! tell a server whose connection preface lacks SETTINGS (RFC 9113 §3.4) from one that
//! disables extended CONNECT.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The type of the SETTINGS frame (RFC 9113 §6.5).
pub(crate) const SETTINGS: u8 = 0x4;
/// Offset of the type in a frame header (RFC 9113 §4.1): after the 24-bit length.
const TYPE_OFFSET: usize = 3;
/// No frame has started yet.
const NONE_YET: u8 = 0xff;

/// The first frame's type, shared between the transport and the handshake.
#[derive(Debug, Clone)]
pub(crate) struct FirstFrameType(Arc<AtomicU8>);

impl FirstFrameType {
    /// The first frame's type, once its header's type byte has been read.
    pub(crate) fn get(&self) -> Option<u8> {
        match self.0.load(Ordering::Acquire) {
            NONE_YET => None,
            kind => Some(kind),
        }
    }
}

/// `IO`, passing every byte through, that records the type of the first frame read.
#[derive(Debug)]
pub(crate) struct FirstFrame<IO> {
    io: IO,
    /// Bytes read so far, up to the type byte.
    read: usize,
    kind: FirstFrameType,
}

impl<IO> FirstFrame<IO> {
    pub(crate) fn new(io: IO) -> (Self, FirstFrameType) {
        let kind = FirstFrameType(Arc::new(AtomicU8::new(NONE_YET)));
        let this = Self {
            io,
            read: 0,
            kind: kind.clone(),
        };
        (this, kind)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for FirstFrame<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read > TYPE_OFFSET {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        let new = buf.filled().get(before..).unwrap_or_default();
        if let Some(&kind) = new.get(TYPE_OFFSET.saturating_sub(this.read)) {
            this.kind.0.store(kind, Ordering::Release);
        }
        this.read += new.len();
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for FirstFrame<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use tokio::io::AsyncReadExt as _;

    use super::*;

    #[tokio::test]
    async fn the_first_frame_type_is_noted_however_the_bytes_are_split() {
        // A PING frame header (type 6) then its payload, read in every split.
        let bytes = [0u8, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        for chunk in 1..bytes.len() {
            let mut mock = tokio_test_reader(&bytes, chunk);
            let (mut io, kind) = FirstFrame::new(&mut mock);
            assert_eq!(kind.get(), None);
            let mut out = Vec::new();
            io.read_to_end(&mut out).await.unwrap();
            assert_eq!(out, bytes);
            assert_eq!(kind.get(), Some(6), "chunks of {chunk}");
        }
    }

    /// A reader yielding `bytes` in chunks of `chunk`.
    fn tokio_test_reader(bytes: &[u8], chunk: usize) -> Chunks {
        Chunks {
            bytes: bytes.to_vec(),
            at: 0,
            chunk,
        }
    }

    struct Chunks {
        bytes: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl AsyncRead for Chunks {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            let end = (this.at + this.chunk)
                .min(this.bytes.len())
                .min(this.at + buf.remaining());
            buf.put_slice(&this.bytes[this.at..end]);
            this.at = end;
            Poll::Ready(Ok(()))
        }
    }
}
