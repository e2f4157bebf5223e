//! WebSockets over HTTP/2 (RFC 8441) on any runtime: the HTTP-version choice for one
//! WebSocket (with the [`Http2Mode`] fallback), shared client connections, and servers.
//! Every option of a one-off connect (TLS configuration, timeouts, HTTP/2 settings)
//! applies to a shared connection too. The functions take the runtime; the facade's
//! `wintergreen::tokio::http2` (and the other runtimes' modules) supply it.

use std::sync::Arc;

use http::{Request, Response};
pub use wintergreen_http2::{
    AcceptedWebSocket, Error, H2Stream, Http2Acceptor, Http2Client, Http2Config, Http2Upgraded,
    Incoming, OtherRequests, PlainRequest, h2,
};
use wintergreen_stream::{Runtime, WebSocketStream};

use crate::client::{handshake as http1_handshake, open};
use crate::error::ConnectError;
use crate::options::{ClientOptions, Http2Mode, IntoClientRequest, ServerOptions};
use crate::target::Target;
use crate::transport::Transport;

/// Opens a shared HTTP/2 connection to a URL's host and port — with prior knowledge (h2c)
/// for `ws://`, through TLS with ALPN `h2` for `wss://` — and checks that the server
/// enables extended CONNECT. `options` gives the TLS configuration, the connect and
/// handshake timeouts and the HTTP/2 settings; open WebSockets on it with
/// [`Http2Client::websocket`] or [`websocket`].
///
/// # Errors
/// As [`connect`](crate::connect); [`ConnectError::Http2NotNegotiated`] when TLS ALPN did
/// not pick `h2`.
pub async fn connect(
    runtime: &Arc<dyn Runtime>,
    url: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<Http2Client, ConnectError> {
    let request = url.into_client_request()?;
    let target = Target::from_request(&request)?;
    ensure_h2_offered(&target, options)?;
    let (io, h2) = open(runtime, &target, options, true).await?;
    if !h2 {
        return Err(ConnectError::Http2NotNegotiated);
    }
    Ok(Http2Client::handshake(io, &settings(options), Arc::clone(runtime)).await?)
}

/// Opens a WebSocket on a shared connection with `options`' handshake, session and driver
/// settings, bounded by its handshake timeout.
///
/// # Errors
/// A refused or invalid handshake, HTTP/2 errors, a timeout.
pub async fn websocket(
    client: &Http2Client,
    request: impl IntoClientRequest,
    options: &ClientOptions,
) -> Result<(WebSocketStream<H2Stream>, Response<()>), ConnectError> {
    let request = request.into_client_request()?;
    Ok(client
        .websocket(
            request,
            &options.upgrade_config(),
            options.driver.clone(),
            options.connect.handshake_timeout,
        )
        .await?)
}

/// Serves WebSockets over HTTP/2 on an incoming byte stream (h2c, or TLS after ALPN `h2`),
/// with `options`' policy, session and driver settings and HTTP/2 settings. The handshake
/// timeout bounds the preface, and then the first extended CONNECT: a connection that has
/// not completed one within it is closed with GOAWAY (see
/// [`Http2Config::handshake_timeout`]; the idle timeout is
/// [`Http2Config::idle_timeout`]).
///
/// # Errors
/// A client that does not speak HTTP/2, or the timeout.
pub async fn accept<IO>(
    runtime: &Arc<dyn Runtime>,
    io: IO,
    options: &ServerOptions,
) -> Result<Http2Acceptor, ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    accept_within(runtime, io, options, options.accept.handshake_timeout).await
}

/// [`accept`] bounded by `timeout` (what is left of the handshake timeout after TLS and
/// the HTTP-version detection).
pub(crate) async fn accept_within<IO>(
    runtime: &Arc<dyn Runtime>,
    io: IO,
    options: &ServerOptions,
    timeout: std::time::Duration,
) -> Result<Http2Acceptor, ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut settings = options.accept.http2_settings.clone();
    settings.settings_timeout = settings.settings_timeout.min(timeout);
    // One handshake timeout for both versions: no extended CONNECT within it, GOAWAY.
    settings.handshake_timeout = timeout;
    let upgrade = options.upgrade_config();
    let acceptor = Http2Acceptor::handshake(
        io,
        &upgrade,
        &options.driver,
        &settings,
        Arc::clone(runtime),
    );
    Ok(acceptor.await?)
}

/// The HTTP/2 settings of a client connection: `options.connect.http2_settings`, with the SETTINGS
/// wait bounded by the handshake timeout too.
fn settings(options: &ClientOptions) -> Http2Config {
    let mut settings = options.connect.http2_settings.clone();
    let timeout = options.connect.handshake_timeout;
    settings.settings_timeout = settings.settings_timeout.min(timeout);
    settings
}

/// Over TLS, a custom configuration that cannot offer `h2` fails a connect that requires
/// HTTP/2 before it starts (see [`crate::tls`]'s `ensure_h2_offered`).
fn ensure_h2_offered(target: &Target, options: &ClientOptions) -> Result<(), ConnectError> {
    #[cfg(feature = "rustls")]
    if target.is_tls() {
        crate::tls::ensure_h2_offered(options.connect.tls.as_ref())?;
    }
    #[cfg(not(feature = "rustls"))]
    let _ = (target, options);
    Ok(())
}

/// [`connect`](crate::connect) for [`Http2Mode::Prefer`] and [`Http2Mode::Require`]: a
/// connection of its own for this WebSocket (it closes when the WebSocket is dropped).
pub(crate) async fn connect_websocket(
    runtime: &Arc<dyn Runtime>,
    request: Request<()>,
    target: &Target,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport>, Response<()>), ConnectError> {
    let prefer = options.connect.http2 == Http2Mode::Prefer;
    if !prefer {
        ensure_h2_offered(target, options)?;
    }
    let (io, h2) = open(runtime, target, options, true).await?;
    if !h2 {
        // TLS, and the server picked http/1.1: speak it on this very connection.
        if prefer {
            tracing::debug!("ALPN picked http/1.1; WebSocket over HTTP/1.1");
            return http1_handshake(runtime, io, request, options).await;
        }
        return Err(ConnectError::Http2NotNegotiated);
    }
    let client = match Http2Client::handshake(io, &settings(options), Arc::clone(runtime)).await {
        Ok(client) => client,
        Err(err) if prefer && err.is_http2_unsupported() => {
            tracing::debug!(%err, "no WebSockets over HTTP/2 here; falling back to HTTP/1.1");
            let (io, _) = open(runtime, target, options, false).await?;
            return http1_handshake(runtime, io, request, options).await;
        }
        Err(err) => return Err(err.into()),
    };
    let upgraded = client
        .upgrade(
            request,
            &options.upgrade_config(),
            options.connect.handshake_timeout,
        )
        .await?;
    let stream = WebSocketStream::from_session(
        Transport::from(upgraded.stream),
        upgraded.session,
        options.driver.clone(),
        Some(Arc::clone(runtime)),
    )
    .end_write_after_close_handshake();
    Ok((stream, upgraded.response))
}
