//! WebSockets over HTTP/2 (RFC 8441) on a futures-io runtime: the spawner, shared client
//! connections (h2c or TLS with ALPN `h2`), and servers.

use std::marker::PhantomData;

use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};
pub use wintergreen_http2::{BoxFuture, Executor, Http2Acceptor, Http2Client, Http2Config};
use wintergreen_stream::{
    ClientOptions, Error, Http2Mode, IntoClientRequest, ServerOptions, Target, WebSocketStream,
};

use crate::{Runtime, Transport, handshake_with, open};

/// Spawns HTTP/2 connection tasks with [`Runtime::spawn`].
#[derive(Debug)]
pub struct RuntimeExecutor<R>(PhantomData<fn() -> R>);

impl<R> Default for RuntimeExecutor<R> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<R: Runtime> Executor for RuntimeExecutor<R> {
    fn execute(&self, future: BoxFuture) {
        R::spawn(future);
    }
}

fn no_h2_alpn() -> Error {
    Error::Http2("the TLS server did not pick h2 through ALPN".into())
}

/// Opens an HTTP/2 connection to a URL's host and port (prior knowledge for `ws://`, ALPN
/// `h2` over TLS for `wss://`) and checks that the server enables extended CONNECT.
///
/// # Errors
/// A bad URL, DNS/TCP/TLS failure, [`Error::ExtendedConnectDisabled`], or the HTTP/2 error.
pub async fn connect<R: Runtime>(
    url: impl IntoClientRequest,
    config: &Http2Config,
) -> Result<Http2Client, Error> {
    let request = url.into_client_request()?;
    let target = Target::from_request(&request)?;
    let (io, h2) = open::<R>(&target, &ClientOptions::default(), true).await?;
    if !h2 {
        return Err(no_h2_alpn());
    }
    Ok(Http2Client::handshake(
        io,
        config,
        &RuntimeExecutor::<R>::default(),
        Some(R::timer()),
    )
    .await?)
}

/// Starts a client HTTP/2 connection over a connected futures-io byte stream.
///
/// # Errors
/// As [`connect`], less the connecting.
pub async fn handshake<R, IO>(io: IO, config: &Http2Config) -> Result<Http2Client, Error>
where
    R: Runtime,
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    Ok(Http2Client::handshake(
        io.compat(),
        config,
        &RuntimeExecutor::<R>::default(),
        Some(R::timer()),
    )
    .await?)
}

/// Serves WebSockets over HTTP/2 on an incoming futures-io byte stream (h2c, or TLS after
/// ALPN `h2`).
///
/// # Errors
/// A client that does not speak HTTP/2, or the handshake timeout.
pub async fn accept_with<R, IO>(
    io: IO,
    options: &ServerOptions,
    config: &Http2Config,
) -> Result<Http2Acceptor, Error>
where
    R: Runtime,
    IO: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    let io: Compat<IO> = io.compat();
    Ok(Http2Acceptor::handshake(
        io,
        options,
        config,
        &RuntimeExecutor::<R>::default(),
        Some(R::timer()),
    )
    .await?)
}

/// `connect_with` for [`Http2Mode::Prefer`] and [`Http2Mode::Require`].
pub(crate) async fn connect_websocket<R: Runtime>(
    request: http::Request<()>,
    target: &Target,
    options: &ClientOptions,
) -> Result<(WebSocketStream<Transport<R::TcpStream>>, http::Response<()>), Error> {
    let prefer = options.http2 == Http2Mode::Prefer;
    let mut config = Http2Config::default();
    config.settings_timeout = config.settings_timeout.min(options.handshake_timeout);
    let (io, h2) = open::<R>(target, options, true).await?;
    if !h2 {
        if prefer {
            tracing::debug!(host = %target.host, "ALPN picked http/1.1; WebSocket over HTTP/1.1");
            return handshake_with::<R, _>(io, request, options).await;
        }
        return Err(no_h2_alpn());
    }
    let executor = RuntimeExecutor::<R>::default();
    let client = match Http2Client::handshake(io, &config, &executor, Some(R::timer())).await {
        Ok(client) => client,
        Err(err) if prefer && err.is_http2_unsupported() => {
            tracing::debug!(%err, host = %target.host, port = target.port, "no WebSockets over HTTP/2 here; falling back to HTTP/1.1");
            let (io, _) = open::<R>(target, options, false).await?;
            return handshake_with::<R, _>(io, request, options).await;
        }
        Err(err) => return Err(err.into()),
    };
    let upgraded = client
        .upgrade(request, &options.client, options.handshake_timeout)
        .await?;
    let stream = WebSocketStream::from_session(
        Transport::from_http2(upgraded.stream),
        upgraded.session,
        options.stream.clone(),
        Some(R::timer()),
    );
    Ok((stream, upgraded.response))
}
