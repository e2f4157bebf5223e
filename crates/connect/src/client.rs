//! The client side: one connect path for every runtime — DNS and TCP, TLS, the HTTP
//! version choice, the opening handshake, each bounded by its timeout.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use http::{Request, Response};
use tracing::Instrument as _;
use wintergreen_stream::{Runtime, TcpStream, WebSocketStream, timeout_at};

use crate::error::{ConnectError, TimeoutKind};
use crate::http1::client_handshake_until;
use crate::options::{ClientOptions, ConnectOptions, Http2Mode, IntoClientRequest};
use crate::target::Target;
use crate::transport::Transport;

/// Connects to a `ws://` or `wss://` URL on `runtime` and runs the opening handshake.
///
/// With [`ConnectOptions::http2`](crate::ConnectOptions::http2) (the `http2` feature) the WebSocket is opened over
/// HTTP/2 on a connection of its own, with prior knowledge for `ws://` and through ALPN for
/// `wss://`: [`Prefer`](Http2Mode::Prefer) falls back to HTTP/1.1 (on the same TLS
/// connection when ALPN picked `http/1.1`, else on a new connection) when the server does
/// not speak HTTP/2 or does not enable extended CONNECT; [`Require`](Http2Mode::Require)
/// fails instead. The response is the server's 101 (HTTP/1.1) or 2xx (HTTP/2).
///
/// # Errors
/// See [`ConnectError`]: a bad URL, DNS or TCP (naming the address), TLS (typed), a
/// refused or invalid handshake, HTTP/2, a timeout.
pub async fn connect(
    runtime: &Arc<dyn Runtime>,
    request: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, Response<()>), ConnectError> {
    let request = request.into_client_request()?;
    let target = Target::from_request(&request)?;
    let span = tracing::debug_span!("ws_connect", host = %target.host, port = target.port);
    // Boxed: the connect state machine (TCP, TLS, HTTP/2 or HTTP/1.1, each bounded) is large,
    // and a caller that `block_on`s it on a small stack (a test thread: 2 MiB; async-std's
    // `block_on` keeps the future on the stack) must not pay for it there.
    Box::pin(connect_target(runtime, request, target, options).instrument(span)).await
}

/// [`connect`] once the request names its target.
async fn connect_target(
    runtime: &Arc<dyn Runtime>,
    request: Request<()>,
    target: Target,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, Response<()>), ConnectError> {
    if target.is_tls() && cfg!(not(feature = "rustls")) {
        return Err(ConnectError::TlsUnavailable);
    }
    if options.connect.http2 != Http2Mode::Off {
        // Boxed on its own: the HTTP/2 path's state is twice the HTTP/1.1 path's, and a
        // state machine is as large as its largest branch.
        #[cfg(feature = "http2")]
        return Box::pin(crate::http2::connect_websocket(
            runtime, request, &target, options,
        ))
        .await;
        #[cfg(not(feature = "http2"))]
        return Err(ConnectError::Http2Unavailable);
    }
    let (io, _) = open(runtime, &target, options, false).await?;
    handshake(runtime, io, request, options).await
}

/// Runs the HTTP/1.1 client handshake over any byte stream already connected (TCP, TLS, a
/// pipe, …), bounded by [`ConnectOptions::handshake_timeout`](crate::ConnectOptions::handshake_timeout).
///
/// # Errors
/// A refused or invalid handshake, I/O, or [`TimeoutKind::Handshake`].
pub async fn handshake<IO>(
    runtime: &Arc<dyn Runtime>,
    io: IO,
    request: Request<()>,
    options: &ClientOptions,
) -> Result<(WebSocketStream<IO>, Response<()>), ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Bounded inside rather than cut from outside: at the deadline, a refusal whose head
    // arrived is still reported as the refusal (with the body so far).
    client_handshake_until(
        io,
        request,
        options.upgrade_config(),
        options.driver.clone(),
        Some(Arc::clone(runtime)),
        Some(deadline(&**runtime, options.connect.handshake_timeout)),
    )
    .await
}

/// Connects TCP and, for `wss://`, TLS (offering `h2` through ALPN when `http2`). Returns
/// the byte stream and whether HTTP/2 may be spoken on it: always over plain TCP (prior
/// knowledge), and over TLS when the server picked `h2`.
pub(crate) async fn open(
    runtime: &Arc<dyn Runtime>,
    target: &Target,
    options: &ClientOptions,
    #[allow(unused_variables)] http2: bool,
) -> Result<(Transport, bool), ConnectError> {
    if !target.is_tls() {
        let tcp = connect_stream(runtime, target, &options.connect).await?;
        return Ok((Transport::from(tcp), true));
    }
    #[cfg(feature = "rustls")]
    {
        let config = crate::tls::client_config(options.connect.tls.as_ref(), http2)?;
        let tcp = connect_stream(runtime, target, &options.connect).await?;
        let tls = crate::tls::handshake(tcp, &target.host, config);
        let tls = within(
            runtime,
            options.connect.handshake_timeout,
            TimeoutKind::Tls,
            tls,
        )
        .await??;
        let h2 = crate::tls::negotiated_h2(tls.get_ref().1.alpn_protocol());
        Ok((Transport::from(tls), h2))
    }
    #[cfg(not(feature = "rustls"))]
    Err(ConnectError::TlsUnavailable)
}

/// The byte stream to the target, the one way every connect (HTTP/1.1 or HTTP/2, `ws://`
/// or `wss://`) gets it: through the proxy that `options.proxy` picks for the target, if
/// any, and reaching the proxy or the target with `options.connector`, or else DNS and TCP.
async fn connect_stream(
    runtime: &Arc<dyn Runtime>,
    target: &Target,
    options: &ConnectOptions,
) -> Result<TcpStream, ConnectError> {
    match options.proxy.proxy_for(target) {
        Some(proxy) => {
            let tcp = dial(runtime, proxy.host(), proxy.port(), options).await?;
            proxy.tunnel(runtime, tcp, target, options).await
        }
        None => dial(runtime, &target.host, target.port, options).await,
    }
}

/// A connection to `host`:`port` by the connector, or by DNS and TCP, within the connect
/// timeout.
async fn dial(
    runtime: &Arc<dyn Runtime>,
    host: &str,
    port: u16,
    options: &ConnectOptions,
) -> Result<TcpStream, ConnectError> {
    match &options.connector {
        Some(connector) => {
            let connect = connector.connect(Arc::clone(runtime), host.to_owned(), port);
            within(
                runtime,
                options.connect_timeout,
                TimeoutKind::Connect,
                connect,
            )
            .await?
        }
        None => resolve_and_connect(&**runtime, host, port, options.connect_timeout).await,
    }
}

/// Resolves the target's host and connects to its addresses in turn, within `timeout`
/// (no proxy, no connector: see [`ConnectOptions`] for those).
///
/// # Errors
/// [`ConnectError::Resolve`], [`ConnectError::Tcp`] naming the last address tried, or
/// [`TimeoutKind::Connect`].
pub async fn tcp_connect(
    runtime: &dyn Runtime,
    target: &Target,
    timeout: Duration,
) -> Result<TcpStream, ConnectError> {
    resolve_and_connect(runtime, &target.host, target.port, timeout).await
}

async fn resolve_and_connect(
    runtime: &dyn Runtime,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, ConnectError> {
    let host = host.to_owned();
    let attempt = async {
        let resolved = runtime.resolve(host.clone(), port).await;
        let addrs = resolved.map_err(|source| ConnectError::Resolve {
            host: host.clone(),
            port,
            source,
        })?;
        let mut failure = ConnectError::Resolve {
            host: host.clone(),
            port,
            source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
        };
        for addr in addrs {
            match runtime.tcp_connect(addr).await {
                Ok(tcp) => {
                    tracing::debug!(%addr, "connected");
                    return Ok(tcp);
                }
                Err(source) => {
                    tracing::debug!(%addr, %source, "TCP connect failed");
                    failure = ConnectError::Tcp { addr, source };
                }
            }
        }
        Err(failure)
    };
    timeout_at(runtime, deadline(runtime, timeout), attempt)
        .await
        .ok_or(ConnectError::Timeout(TimeoutKind::Connect))?
}

/// Runs `future` for at most `timeout`, failing with `kind`.
pub(crate) fn within<F: std::future::Future>(
    runtime: &Arc<dyn Runtime>,
    timeout: Duration,
    kind: TimeoutKind,
    future: F,
) -> impl std::future::Future<Output = Result<F::Output, ConnectError>> {
    // A combinator, not an `async` block: the block would hold `future` twice (captured,
    // then moved into its await), for as long as the connect it belongs to runs.
    timeout_at(&**runtime, deadline(&**runtime, timeout), future)
        .map(move |output| output.ok_or(ConnectError::Timeout(kind)))
}

/// `timeout` from now on the runtime's clock (a century for an unbounded one).
pub(crate) fn deadline(runtime: &dyn Runtime, timeout: Duration) -> Instant {
    let now = runtime.now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}
