//! wintergreen WebSockets inside a hyper 1 service or an axum 0.8 handler, over HTTP/1.1
//! (`GET` + `Upgrade: websocket`, answered 101, RFC 6455 §4.2) and over HTTP/2 (extended
//! `CONNECT` with `:protocol = websocket`, answered 200, RFC 8441 §4–5), on tokio.
//! Most users reach it through the `wintergreen` facade: features `hyper`
//! (`wintergreen::hyper`) and `axum` (`wintergreen::axum`).
//!
//! hyper owns the connection and parses the request; [`upgrade`] judges it with the server
//! policy in [`ServerOptions`] (subprotocols, permessage-deflate, checks), gives the
//! response to send, and a [`PendingWebSocket`] that becomes a [`WebSocket`] once hyper
//! hands the connection over. A request that is no acceptable WebSocket request gets an
//! [`UpgradeRejection`], whose [`response`](UpgradeRejection::response) is a 4xx.
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper::{Request, Response, body::Incoming};
//!
//! async fn service(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     if !wintergreen_hyper::is_upgrade_request(&request) {
//!         return Ok(Response::new(Full::from("plain HTTP")));
//!     }
//!     let options = wintergreen_connect::ServerOptions::default();
//!     Ok(match wintergreen_hyper::upgrade(&mut request, &options) {
//!         Ok((response, websocket)) => {
//!             websocket.on_upgrade(|ws| async move {
//!                 // ws: a WebSocketStream (futures Stream + Sink of Message)
//!                 drop(ws);
//!             });
//!             response
//!         }
//!         Err(rejection) => rejection.response(),
//!     })
//! }
//! ```
//!
//! The hyper connection must be served with upgrades (`serve_connection_with_upgrades`, or
//! `http1::Builder::serve_connection(..).with_upgrades()`), and HTTP/2 with
//! `enable_connect_protocol()` (RFC 8441 §3: `SETTINGS_ENABLE_CONNECT_PROTOCOL`);
//! `axum::serve` does both.

#![deny(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod rejection;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::UPGRADE;
use http::{Extensions, HeaderMap, Method, Request, Response, Version};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use wintergreen_connect::upgrade::{PendingUpgrade, response_for};
use wintergreen_handshake::HandshakeError;
use wintergreen_handshake::headers::has_token;
use wintergreen_stream::WebSocketStream;

pub use rejection::UpgradeRejection;
pub use wintergreen_connect::ServerOptions;
pub use wintergreen_stream::Message;

/// The WebSocket a handler gets: the wintergreen driver over hyper's upgraded connection
/// (the socket for HTTP/1.1, the extended CONNECT stream for HTTP/2).
pub type WebSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Whether the client asks for a WebSocket: over HTTP/2 an extended `CONNECT` whose
/// `:protocol` is `websocket` (RFC 8441 §4; hyper keeps it as `hyper::ext::Protocol`),
/// over HTTP/1.x an `Upgrade` header listing `websocket` (RFC 6455 §4.1). Whether the
/// request is a *valid* one is [`upgrade`]'s judgement: use this to route, not to accept.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    asks_for_websocket(
        request.method(),
        request.version(),
        request.headers(),
        request.extensions(),
    )
}

fn asks_for_websocket(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> bool {
    if version == Version::HTTP_2 {
        method == Method::CONNECT
            && extensions
                .get::<hyper::ext::Protocol>()
                .is_some_and(|protocol| protocol.as_str().eq_ignore_ascii_case("websocket"))
    } else {
        has_token(headers, UPGRADE, "websocket")
    }
}

/// The checks a WebSocket route makes before the handshake rules: the method the HTTP
/// version opens a WebSocket with (405 otherwise), then whether the client asks for a
/// WebSocket at all (400 otherwise). Shared by [`upgrade`] and the axum extractor.
fn check_route(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<(), UpgradeRejection> {
    let allowed = if version == Version::HTTP_2 {
        Method::CONNECT
    } else {
        Method::GET
    };
    if *method != allowed {
        return Err(UpgradeRejection::Handshake(HandshakeError::InvalidMethod {
            method: method.clone(),
            expected: allowed,
        }));
    }
    if asks_for_websocket(method, version, headers, extensions) {
        Ok(())
    } else if version == Version::HTTP_2 {
        Err(UpgradeRejection::NotWebSocketConnect)
    } else {
        Err(UpgradeRejection::Handshake(HandshakeError::MissingUpgrade))
    }
}

/// Judges a WebSocket request that hyper read, with the server policy in `options`, and
/// takes hyper's upgrade handle out of its extensions.
///
/// On success, send the response (`101 Switching Protocols` for HTTP/1.1, `200 OK` for
/// HTTP/2, with the chosen `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` and the
/// policy's extra header fields; an empty body) and run the [`PendingWebSocket`] (await it,
/// or [`on_upgrade`](PendingWebSocket::on_upgrade)). The session uses `options.session`
/// and the driver `options.driver`; `options.accept` and `options.handshake.limits` are
/// hyper's business here. The response body type is any `B: From<Bytes>`
/// (`http_body_util::Full<Bytes>`, axum's `Body`, …).
///
/// # Errors
/// An [`UpgradeRejection`] saying what is wrong (wrong method: 405; not a WebSocket
/// request, or one that breaks RFC 6455 §4.2.1 / RFC 8441 §5: 400; a
/// `Sec-WebSocket-Version` other than 13: 426; the policy's refusal: its status). Answer it
/// with [`UpgradeRejection::response`].
pub fn upgrade<ReqBody, B>(
    request: &mut Request<ReqBody>,
    options: &ServerOptions,
) -> Result<(Response<B>, PendingWebSocket), UpgradeRejection>
where
    B: From<Bytes>,
{
    check_route(
        request.method(),
        request.version(),
        request.headers(),
        request.extensions(),
    )?;
    let on_upgrade = request.extensions_mut().remove::<OnUpgrade>();
    accept(request, on_upgrade, options)
}

/// The handshake once the route's checks passed: the version's RFC rules and the policy
/// ([`response_for`], the one owner), then hyper's upgrade handle. The handle is looked at
/// last, so that a broken request is answered as the peer's fault even where hyper
/// prepared no upgrade for it (hyper does so only for an HTTP/1.1 `Upgrade` or a
/// `CONNECT`).
fn accept<ReqBody, B>(
    request: &Request<ReqBody>,
    on_upgrade: Option<OnUpgrade>,
    options: &ServerOptions,
) -> Result<(Response<B>, PendingWebSocket), UpgradeRejection>
where
    B: From<Bytes>,
{
    let (response, pending) = response_for(request, options).map_err(|err| {
        tracing::debug!(uri = %request.uri(), error = %err, "WebSocket upgrade refused");
        UpgradeRejection::Handshake(err)
    })?;
    let on_upgrade = on_upgrade.ok_or(UpgradeRejection::NotUpgradable)?;
    Ok((
        response.map(|()| B::from(Bytes::new())),
        PendingWebSocket {
            on_upgrade,
            pending,
        },
    ))
}

/// A WebSocket accepted by [`upgrade`], waiting for hyper to hand over the connection,
/// which it does once the response has been sent. Await it (it is [`IntoFuture`]) or pass
/// a handler to [`on_upgrade`](Self::on_upgrade). The future fails with hyper's error when
/// the connection closes before the upgrade or was not served with upgrades.
#[derive(Debug)]
#[must_use = "the WebSocket runs only once this is awaited or given a handler"]
pub struct PendingWebSocket {
    on_upgrade: OnUpgrade,
    pending: PendingUpgrade,
}

impl PendingWebSocket {
    /// The chosen subprotocol, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.pending.subprotocol()
    }

    /// The negotiated extension's `Sec-WebSocket-Extensions` answer (e.g.
    /// `permessage-deflate`), if any.
    pub fn extension(&self) -> Option<&str> {
        self.pending.extension()
    }

    /// The HTTP version the WebSocket was accepted over (1.1 or 2).
    pub fn version(&self) -> Version {
        self.pending.version()
    }

    /// Spawns a tokio task that waits for the upgrade and runs `handler` on the
    /// [`WebSocket`]. A failed upgrade (the client went away first) is logged at debug
    /// level and `handler` does not run.
    pub fn on_upgrade<H, Fut>(self, handler: H)
    where
        H: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(async move {
            match self.await {
                Ok(ws) => handler(ws).await,
                Err(err) => tracing::debug!(error = %err, "WebSocket upgrade failed"),
            }
        }));
    }
}

impl IntoFuture for PendingWebSocket {
    type Output = Result<WebSocket, hyper::Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let upgraded = self.on_upgrade.await?;
            // tokio's timers bound the close handshake and run keep-alive.
            let runtime: Arc<dyn wintergreen_stream::Runtime> = Arc::new(wintergreen_tokio::Tokio);
            Ok(self
                .pending
                .into_stream(TokioIo::new(upgraded), Some(runtime)))
        })
    }
}
