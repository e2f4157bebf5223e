//! [`Connector`]: the hook that turns a host and port into a connected byte stream, for a
//! caller that picks the address itself, uses its own DNS, or already has a connection.

use std::fmt::Debug;
use std::sync::Arc;

use wintergreen_stream::{BoxFuture, Runtime, TcpStream};

use crate::error::ConnectError;

/// Connects a byte stream to a host and port, instead of the runtime's DNS resolution and
/// TCP connect. Set it in [`ConnectOptions::connector`](crate::ConnectOptions::connector)
/// (or the facade's `ClientBuilder::connector`).
///
/// It is asked for the URL's host and port, or, when a proxy is used, for the proxy's
/// (the tunnel is then opened over the stream it returns). Everything after it stays
/// wintergreen's: the proxy exchange, TLS for `wss://` (the certificate checked against the
/// URL's host), the HTTP version choice and the opening handshake. The connect timeout
/// bounds it ([`TimeoutKind::Connect`](crate::TimeoutKind::Connect)).
///
/// The stream is a [`TcpStream`], which wraps any socket speaking the tokio-io traits
/// ([`TcpStream::new`]): a runtime's TCP socket, a Unix socket, an in-memory pipe.
///
/// ```
/// use std::net::SocketAddr;
/// use std::sync::Arc;
/// use wintergreen_connect::{ConnectError, Connector};
/// use wintergreen_stream::{BoxFuture, Runtime, TcpStream};
///
/// /// Sends every connection to one address, whatever the name (a DNS override).
/// #[derive(Debug)]
/// struct Pinned(SocketAddr);
///
/// impl Connector for Pinned {
///     fn connect(
///         &self,
///         runtime: Arc<dyn Runtime>,
///         _host: String,
///         _port: u16,
///     ) -> BoxFuture<'static, Result<TcpStream, ConnectError>> {
///         let addr = self.0;
///         Box::pin(async move {
///             runtime
///                 .tcp_connect(addr)
///                 .await
///                 .map_err(|source| ConnectError::Tcp { addr, source })
///         })
///     }
/// }
/// ```
pub trait Connector: Send + Sync + Debug + 'static {
    /// Connects to `host` (a name or an IP address, without brackets) and `port`, on
    /// `runtime`.
    ///
    /// # Errors
    /// Whatever the connector reports; [`ConnectError::Resolve`], [`ConnectError::Tcp`] and
    /// [`ConnectError::Io`] are the usual ones.
    fn connect(
        &self,
        runtime: Arc<dyn Runtime>,
        host: String,
        port: u16,
    ) -> BoxFuture<'static, Result<TcpStream, ConnectError>>;
}
