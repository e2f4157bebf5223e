//! [`H2Stream`]: one HTTP/2 stream as a byte pipe (`AsyncRead + AsyncWrite`), so that the
//! same wintergreen-stream driver and codec session run over it as over a TCP connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream, StreamId};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use crate::error::into_io;
use crate::slots::Slot;

/// Default cap on one write's capacity reservation (see [`H2Stream::with_max_write`]).
const DEFAULT_MAX_WRITE: usize = 256 << 10;

/// An HTTP/2 stream's two halves as one byte stream.
///
/// - **Reading** yields the DATA the peer sent. Receive capacity (flow control) is released
///   as bytes are read out of the pipe, so a peer can only get ahead of the application by
///   its window.
/// - **Writing** sends DATA, never more than the capacity h2 has granted this stream (the
///   peer's window, capped by the connection's send buffer): a write waits until capacity
///   arrives and may be short, so nothing is buffered without bound. A vectored write (a
///   frame the session queued in pieces: a server's header, then its payload held by
///   reference) goes out as one DATA frame.
/// - **Shutdown** ends our side with an empty DATA frame carrying END_STREAM.
/// - **The end of the read side** is EOF, whether the peer ended its side (END_STREAM), reset
///   the stream (RST_STREAM) or the connection was lost. To the WebSocket driver an EOF
///   before the close handshake is an abnormal closure (1006), exactly like a TCP connection
///   that drops; [`read_error`](Self::read_error) says what happened.
/// - **Writing after a reset** fails with [`ConnectionReset`](io::ErrorKind::ConnectionReset)
///   (or [`BrokenPipe`](io::ErrorKind::BrokenPipe) after our own END_STREAM).
///
/// **Dropping** the pipe ends our side as closing a socket does: END_STREAM goes out after
/// the data already written (unless the stream was reset), so that a close frame written just
/// before the drop still arrives. If the peer has not ended its side yet, h2 would reset the
/// stream at once, and on a client that reset discards queued data; so a client stream from
/// [`Http2Client`](crate::Http2Client) lingers instead: its connection task keeps it,
/// discarding what arrives, until the peer ends it or
/// [`linger`](crate::Http2Config::linger) passes. A dropped server stream does not linger:
/// h2 resets it with `NO_ERROR` after the queued data, and h2's client drops what it had
/// not yet read when that reset arrives. A server's WebSocket lingers on its own instead:
/// after the close handshake (or failing the connection) its driver ends our side and
/// reads until the client ends its own, bounded by the close timeout
/// (`Session::should_end_write`), so a server should end with the close handshake (RFC
/// 6455 §7.1.2) and read until the stream ends, not drop it while the client may still be
/// reading.
#[derive(Debug)]
pub struct H2Stream {
    /// Always `Some` until dropped (taken out to linger).
    halves: Option<Halves>,
    stream_id: StreamId,
    /// Received bytes not yet read out.
    pending: Bytes,
    read: ReadState,
    /// END_STREAM was sent.
    shutdown: bool,
    max_write: usize,
    /// Where a dropped client stream goes to linger (its connection task).
    linger: Option<mpsc::Sender<Halves>>,
}

/// A stream's two h2 handles.
#[derive(Debug)]
pub(crate) struct Halves {
    pub(crate) send: SendStream<Bytes>,
    pub(crate) recv: RecvStream,
    /// A client WebSocket's stream slot, given back when the halves are dropped.
    pub(crate) slot: Option<Slot>,
}

#[derive(Debug)]
enum ReadState {
    Open,
    /// The peer sent END_STREAM.
    Ended,
    /// The stream was reset or the connection failed.
    Failed(h2::Error),
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the HTTP/2 stream is gone")
}

impl H2Stream {
    /// Joins the two halves of one stream: from a client's request
    /// ([`SendStream`] from `send_request`, [`RecvStream`] from the response) or a server's
    /// (the request's [`RecvStream`], the [`SendStream`] from `send_response`).
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        Self {
            stream_id: recv.stream_id(),
            halves: Some(Halves {
                send,
                recv,
                slot: None,
            }),
            pending: Bytes::new(),
            read: ReadState::Open,
            shutdown: false,
            max_write: DEFAULT_MAX_WRITE,
            linger: None,
        }
    }

    /// Holds `slot` until the stream (lingering included) is dropped.
    pub(crate) fn holding(mut self, slot: Slot) -> Self {
        if let Some(halves) = &mut self.halves {
            halves.slot = Some(slot);
        }
        self
    }

    /// Lets the stream linger in its connection's task when dropped early.
    pub(crate) fn lingering_in(mut self, task: mpsc::Sender<Halves>) -> Self {
        self.linger = Some(task);
        self
    }

    /// Caps how much send capacity one write asks for (at least 1 byte). The default,
    /// 256 KiB, is above the protocol's default window, so it only matters for peers with
    /// large windows.
    #[must_use]
    pub fn with_max_write(mut self, bytes: usize) -> Self {
        self.max_write = bytes.max(1);
        self
    }

    /// The stream's id.
    pub fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// Whether the peer ended its side cleanly (END_STREAM) and all its data was read.
    pub fn is_end_stream(&self) -> bool {
        matches!(self.read, ReadState::Ended) && self.pending.is_empty()
    }

    /// Why the read side ended early: the peer's RST_STREAM (see [`h2::Error::reason`] and
    /// [`h2::Error::is_reset`]), a GOAWAY, or a lost connection. `None` while the stream is
    /// open or after a clean END_STREAM.
    pub fn read_error(&self) -> Option<&h2::Error> {
        match &self.read {
            ReadState::Failed(err) => Some(err),
            ReadState::Open | ReadState::Ended => None,
        }
    }

    /// The reason of the peer's RST_STREAM (or GOAWAY), if that is how the stream ended.
    pub fn reset_reason(&self) -> Option<Reason> {
        self.read_error().and_then(h2::Error::reason)
    }

    /// Resets the stream with `reason` (RST_STREAM): both directions end at once, and
    /// data queued for sending is dropped.
    pub fn reset(&mut self, reason: Reason) {
        if let Some(halves) = &mut self.halves {
            halves.send.send_reset(reason);
        }
        self.shutdown = true;
        self.linger = None;
    }

    /// Sends the first bytes of `len` as one DATA frame, as many as h2 has granted this
    /// stream (waiting for capacity when none is granted); `take(n)` gives the first `n`
    /// bytes. Ready with how many were sent.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        len: usize,
        take: impl FnOnce(usize) -> Bytes,
    ) -> Poll<io::Result<usize>> {
        if self.shutdown {
            return Poll::Ready(Err(ready!(self.poll_write_closed(cx))));
        }
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let Some(halves) = &mut self.halves else {
            return Poll::Ready(Err(gone()));
        };
        halves.send.reserve_capacity(len.min(self.max_write));
        loop {
            // Capacity already assigned counts even if no increase is signalled.
            let capacity = halves.send.capacity();
            if capacity > 0 {
                let n = capacity.min(len);
                return match halves.send.send_data(take(n), false) {
                    Ok(()) => Poll::Ready(Ok(n)),
                    Err(err) => Poll::Ready(Err(into_io(err))),
                };
            }
            match ready!(halves.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(err)) => return Poll::Ready(Err(into_io(err))),
                None => return Poll::Ready(Err(ready!(self.poll_write_closed(cx)))),
            }
        }
    }

    /// Why writing is impossible: the peer's reset, or our own END_STREAM.
    fn poll_write_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.shutdown {
            return Poll::Ready(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the HTTP/2 stream was already ended (END_STREAM sent)",
            ));
        }
        let Some(halves) = &mut self.halves else {
            return Poll::Ready(gone());
        };
        match halves.send.poll_reset(cx) {
            Poll::Ready(Ok(reason)) => Poll::Ready(io::Error::new(
                io::ErrorKind::ConnectionReset,
                format!("the HTTP/2 stream was reset: {reason}"),
            )),
            Poll::Ready(Err(err)) => Poll::Ready(into_io(err)),
            // Closed for sending without a reset (cannot normally happen before shutdown).
            Poll::Pending => Poll::Ready(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the HTTP/2 stream is closed for sending",
            )),
        }
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(halves) = &mut this.halves else {
            return Poll::Ready(Ok(()));
        };
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(out.remaining());
                if n == 0 {
                    return Poll::Ready(Ok(()));
                }
                let chunk = this.pending.split_to(n);
                out.put_slice(&chunk);
                // The application has taken these bytes: let the peer send as many more.
                if let Err(err) = halves.recv.flow_control().release_capacity(n) {
                    tracing::debug!(%err, "could not release receive capacity");
                }
                return Poll::Ready(Ok(()));
            }
            if !matches!(this.read, ReadState::Open) {
                return Poll::Ready(Ok(()));
            }
            match ready!(halves.recv.poll_data(cx)) {
                Some(Ok(data)) => this.pending = data,
                Some(Err(err)) => {
                    tracing::debug!(stream = ?this.stream_id, %err, "HTTP/2 stream ended by an error; reading EOF");
                    this.read = ReadState::Failed(err);
                }
                None => {
                    tracing::trace!(stream = ?this.stream_id, "END_STREAM received");
                    this.read = ReadState::Ended;
                }
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, buf.len(), |n| {
            Bytes::copy_from_slice(buf.get(..n).unwrap_or_default())
        })
    }

    /// Gathers the slices into one DATA frame (as much of them as the granted capacity
    /// allows), so that a frame queued in pieces (a server's header and its payload held by
    /// reference) goes out as one DATA frame, not one per piece.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.get_mut().poll_send(cx, len, |n| gather(bufs, n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written DATA is queued in h2 within the granted capacity; the connection task
        // writes it out.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.shutdown {
            return Poll::Ready(Ok(()));
        }
        this.shutdown = true;
        let Some(halves) = &mut this.halves else {
            return Poll::Ready(Err(gone()));
        };
        tracing::trace!(stream = ?this.stream_id, "sending END_STREAM");
        Poll::Ready(end_stream(&mut halves.send).map_err(into_io))
    }
}

/// The first `n` bytes of `bufs`, in one buffer.
fn gather(bufs: &[io::IoSlice<'_>], n: usize) -> Bytes {
    let mut data = BytesMut::with_capacity(n);
    for buf in bufs {
        let room = n - data.len();
        if room == 0 {
            break;
        }
        data.extend_from_slice(buf.get(..room).unwrap_or(buf));
    }
    data.freeze()
}

/// Ends our side: no more capacity wanted, then an empty DATA frame with END_STREAM (queued
/// after any data already written).
fn end_stream(send: &mut SendStream<Bytes>) -> Result<(), h2::Error> {
    send.reserve_capacity(0);
    send.send_data(Bytes::new(), true)
}

impl Drop for H2Stream {
    fn drop(&mut self) {
        let Some(mut halves) = self.halves.take() else {
            return;
        };
        if !self.shutdown {
            // Fails harmlessly when the stream was reset or already ended.
            let _ = end_stream(&mut halves.send);
        }
        if !matches!(self.read, ReadState::Open) {
            // The peer has ended its side: with ours ended too the stream is closed, and
            // h2 delivers what is queued.
            return;
        }
        if let Some(task) = self.linger.take() {
            match task.try_send(halves) {
                Ok(()) => {
                    tracing::trace!(stream = ?self.stream_id, "dropped before the peer ended the stream: lingering");
                }
                Err(_) => {
                    tracing::debug!(stream = ?self.stream_id, "cannot linger (connection gone or too many lingering): resetting");
                }
            }
        }
    }
}

/// A dropped client stream, kept by its connection task until the peer ends it (or the
/// linger time passes), so that h2 does not reset it with data still queued.
pub(crate) struct Lingering {
    halves: Halves,
    until: wintergreen_stream::Sleep,
}

impl std::fmt::Debug for Lingering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lingering")
            .field("stream", &self.halves.recv.stream_id())
            .finish_non_exhaustive()
    }
}

impl Lingering {
    pub(crate) fn new(halves: Halves, until: wintergreen_stream::Sleep) -> Self {
        Self { halves, until }
    }

    /// Discards what the peer sends; ready once it ended the stream (or reset it, or the
    /// linger time passed). Dropping it then lets h2 close (or reset) the stream.
    pub(crate) fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.halves.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.halves.recv.flow_control().release_capacity(data.len());
                }
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        self.until.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tokio::io::AsyncWriteExt as _;

    /// A server-side pipe over a raw h2 pair, and the client's view of what it sends.
    async fn pipe_pair() -> (H2Stream, RecvStream) {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(async move {
            let mut conn = h2::server::handshake(server_io).await.unwrap();
            let (request, mut respond) = conn.accept().await.unwrap().unwrap();
            let send = respond
                .send_response(http::Response::new(()), false)
                .unwrap();
            // Keep the connection going (it writes what the pipe queues).
            tokio::spawn(async move { while conn.accept().await.is_some() {} });
            H2Stream::new(send, request.into_body())
        });
        let (mut client, conn) = h2::client::handshake(client_io).await.unwrap();
        tokio::spawn(conn);
        let request = http::Request::post("http://localhost/").body(()).unwrap();
        let (response, _send) = client.send_request(request, false).unwrap();
        let pipe = server.await.unwrap();
        (pipe, response.await.unwrap().into_body())
    }

    #[tokio::test]
    async fn a_vectored_write_goes_as_one_data_frame() {
        let (mut pipe, mut recv) = pipe_pair().await;
        let payload = [7u8; 2048];
        let slices = [io::IoSlice::new(b"head"), io::IoSlice::new(&payload)];
        assert!(pipe.is_write_vectored());
        let written = pipe.write_vectored(&slices).await.unwrap();
        assert_eq!(written, 4 + payload.len());
        let first = recv.data().await.unwrap().unwrap();
        // One DATA frame with both pieces, in order (not the 4-byte header on its own).
        assert_eq!(first.len(), written);
        assert_eq!(first.get(..4), Some(&b"head"[..]));
        assert!(first.get(4..).is_some_and(|rest| rest == payload));
    }

    #[test]
    fn gather_takes_the_first_bytes_across_slices() {
        let slices = [
            io::IoSlice::new(b"ab"),
            io::IoSlice::new(b""),
            io::IoSlice::new(b"cde"),
        ];
        assert_eq!(gather(&slices, 0), Bytes::new());
        assert_eq!(gather(&slices, 1), Bytes::from_static(b"a"));
        assert_eq!(gather(&slices, 4), Bytes::from_static(b"abcd"));
        assert_eq!(gather(&slices, 5), Bytes::from_static(b"abcde"));
    }
}
