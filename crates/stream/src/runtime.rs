//! The one runtime seam, in quinn's shape: what wintergreen needs from an async runtime —
//! the time, sleeping until a deadline, spawning a background task, and TCP (resolve,
//! connect, listen). Each runtime adapter (wintergreen-tokio, wintergreen-smol,
//! wintergreen-async-std) implements [`Runtime`] in one small file; everything else is
//! written once against `Arc<dyn Runtime>`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use std::{fmt, fmt::Debug};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A future that completes at a deadline.
pub type Sleep = BoxFuture<'static, ()>;

/// An async runtime, as wintergreen uses it.
///
/// Sockets speak the tokio-io traits (`tokio::io::{AsyncRead, AsyncWrite}`, the traits
/// only): a futures-io runtime wraps its sockets in `Compat` (see [`compat`](crate::compat)).
pub trait Runtime: Send + Sync + Debug + 'static {
    /// The current time on the runtime's clock. Default: [`Instant::now`].
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Sleep;

    /// Runs `task` to completion in the background (detached).
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// Resolves a host name (or IP literal) and port to socket addresses (DNS).
    /// Default: fails with [`io::ErrorKind::Unsupported`] (a runtime without sockets, such
    /// as an in-memory test runtime).
    fn resolve(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let _ = (host, port);
        Box::pin(async { Err(io::ErrorKind::Unsupported.into()) })
    }

    /// Connects a TCP socket to `addr`, with `TCP_NODELAY` set (WebSocket frames are
    /// latency-sensitive; the driver batches writes itself). Default: fails with
    /// [`io::ErrorKind::Unsupported`].
    fn tcp_connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<TcpStream>> {
        let _ = addr;
        Box::pin(async { Err(io::ErrorKind::Unsupported.into()) })
    }

    /// Binds a TCP listener to `addr`. Default: fails with [`io::ErrorKind::Unsupported`].
    fn tcp_listen(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TcpListener>>> {
        let _ = addr;
        Box::pin(async { Err(io::ErrorKind::Unsupported.into()) })
    }
}

/// A bound TCP listener of some [`Runtime`].
pub trait TcpListener: Send + Sync + Debug {
    /// Waits for the next connection (with `TCP_NODELAY` set).
    fn accept(&self) -> BoxFuture<'_, io::Result<TcpStream>>;

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// As the socket call.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// Runs `future` until `deadline` on `runtime`'s clock: `None` if the deadline came first.
/// This is the one way wintergreen bounds a wait.
///
/// The sleep is taken from `runtime` here, at the call (so, on tokio, inside the runtime's
/// context); `future` is polled first at each wake-up, so an output ready at the deadline
/// wins.
pub fn timeout_at<F: Future>(runtime: &dyn Runtime, deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: runtime.sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout_at`]: `Some(output)`, or `None` once the deadline passed.
    ///
    /// A named future rather than an `async fn`, so that `future` is held once, in place: an
    /// `async fn` keeps its argument and the pinned copy it polls, and each caller's state
    /// machine holds the largest of those for as long as the caller lives (a connect's
    /// handshake future was held three times over).
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Some(output));
        }
        this.sleep.as_mut().poll(cx).map(|()| None)
    }
}

/// A connected TCP socket of some [`Runtime`], speaking the tokio-io traits.
pub struct TcpStream {
    io: Box<dyn Socket>,
    peer_addr: SocketAddr,
    local_addr: SocketAddr,
}

/// What a runtime's socket must be.
trait Socket: AsyncRead + AsyncWrite + Send + Unpin + Debug {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + Debug> Socket for T {}

impl TcpStream {
    /// Wraps a runtime's connected socket and its addresses.
    pub fn new<S>(socket: S, peer_addr: SocketAddr, local_addr: SocketAddr) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + Debug + 'static,
    {
        Self {
            io: Box::new(socket),
            peer_addr,
            local_addr,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("peer_addr", &self.peer_addr)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
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
