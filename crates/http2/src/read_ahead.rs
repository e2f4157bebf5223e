//! [`ReadAhead`]: the connection's socket as h2 reads it, one system call per burst.
//!
//! h2 reads its connection through tokio-util's `FramedRead`, whose buffer starts at 8 KiB,
//! so a 16 KiB DATA frame took two or three `recvfrom` calls (strace: about 2.1 per 16 KiB
//! WebSocket message, against 1 over HTTP/1.1). Small reads are served here from one read of
//! up to [`READ_AHEAD`] bytes instead. The buffer is held only while data flows: it goes back
//! to a spare slot per thread as soon as it is drained and the socket has nothing more (an
//! idle connection holds none of it), and the next read takes it from there, so a busy
//! connection neither allocates nor zeroes per read. Memory: at most one [`READ_AHEAD`]
//! buffer per connection that is reading, plus one spare per thread.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most bytes one read takes from the socket: two 16 KiB frames with their headers.
pub(crate) const READ_AHEAD: usize = 32 << 10;

thread_local! {
    static SPARE: Cell<Option<Vec<u8>>> = const { Cell::new(None) };
}

/// The thread's spare buffer, or a new one ([`READ_AHEAD`] bytes, zeroed once).
fn take_buffer() -> Vec<u8> {
    SPARE
        .with(Cell::take)
        .unwrap_or_else(|| vec![0; READ_AHEAD])
}

/// Keeps `buf` as the thread's spare (freeing the previous one, if any).
fn give_buffer(buf: Vec<u8>) {
    drop(SPARE.with(|slot| slot.replace(Some(buf))));
}

/// A byte stream whose small reads are served from one larger read; writes pass through.
#[derive(Debug)]
pub(crate) struct ReadAhead<IO> {
    io: IO,
    /// `Some` while read-ahead bytes wait (`start..end`) or a read into it is under way.
    buf: Option<Vec<u8>>,
    start: usize,
    end: usize,
}

impl<IO> ReadAhead<IO> {
    pub(crate) fn new(io: IO) -> Self {
        Self {
            io,
            buf: None,
            start: 0,
            end: 0,
        }
    }

    /// Gives the (drained) buffer back to the thread's spare slot.
    fn release(&mut self) {
        if let Some(buf) = self.buf.take() {
            give_buffer(buf);
        }
        self.start = 0;
        self.end = 0;
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for ReadAhead<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(buf) = &this.buf
                && this.start < this.end
            {
                let n = out.remaining().min(this.end - this.start);
                let Some(ready) = buf.get(this.start..this.start + n) else {
                    // Cannot happen (start ≤ end ≤ len); treat as drained rather than panic.
                    this.release();
                    continue;
                };
                out.put_slice(ready);
                this.start += n;
                if this.start == this.end {
                    this.release();
                }
                return Poll::Ready(Ok(()));
            }
            if out.remaining() >= READ_AHEAD {
                // A large read gains nothing from the detour.
                this.release();
                return Pin::new(&mut this.io).poll_read(cx, out);
            }
            let buf = this.buf.get_or_insert_with(take_buffer);
            let mut ahead = ReadBuf::new(buf);
            match Pin::new(&mut this.io).poll_read(cx, &mut ahead) {
                Poll::Ready(Ok(())) => {
                    let n = ahead.filled().len();
                    if n == 0 {
                        // EOF: `out` stays empty.
                        this.release();
                        return Poll::Ready(Ok(()));
                    }
                    this.start = 0;
                    this.end = n;
                }
                other => {
                    // Nothing to read (the connection goes idle) or an error: hold no buffer.
                    this.release();
                    return other;
                }
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ReadAhead<IO> {
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
        // h2 writes a DATA frame's header and payload with one vectored write when it can.
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

    #[tokio::test]
    async fn small_reads_are_served_from_one_read_and_the_bytes_stay_in_order() {
        let (mut peer, ours) = tokio::io::duplex(1 << 20);
        let sent: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        peer.write_all(&sent).await.unwrap();
        drop(peer);
        let mut reader = ReadAhead::new(ours);
        let mut got = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = reader.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, sent);
        assert!(reader.buf.is_none(), "at EOF no buffer is held");
    }

    #[tokio::test]
    async fn an_idle_connection_holds_no_buffer() {
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let mut reader = ReadAhead::new(ours);
        peer.write_all(b"hello").await.unwrap();
        let mut chunk = [0u8; 3];
        reader.read_exact(&mut chunk).await.unwrap();
        assert_eq!(&chunk, b"hel");
        assert!(reader.buf.is_some(), "two bytes still wait");
        let mut rest = [0u8; 2];
        reader.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"lo");
        // Nothing more to read: the poll is pending and the buffer goes back.
        let mut read = Box::pin(reader.read(&mut chunk));
        let polled = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
        drop(read);
        assert!(reader.buf.is_none());
    }
}
