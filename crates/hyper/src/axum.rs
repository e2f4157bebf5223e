//! The axum 0.8 extractor: [`WebSocketUpgrade`].
//!
//! ```no_run
//! use axum::{Router, response::Response, routing::any};
//! use futures_util::{SinkExt, StreamExt};
//! use wintergreen_hyper::axum::{Message, WebSocket, WebSocketUpgrade};
//!
//! // `any`: HTTP/1.1 opens a WebSocket with GET, HTTP/2 with CONNECT.
//! let app: Router = Router::new().route("/ws", any(handler));
//!
//! async fn handler(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["chat.v1"]).on_upgrade(echo)
//! }
//!
//! async fn echo(mut ws: WebSocket) {
//!     while let Some(Ok(message)) = ws.next().await {
//!         let data = matches!(message, Message::Text(_) | Message::Binary(_));
//!         if data && ws.send(message).await.is_err() {
//!             return;
//!         }
//!     }
//! }
//! ```

use std::future::Future;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::SEC_WEBSOCKET_PROTOCOL;
use http::request::Parts;
use http::{Request, Version};
use hyper::upgrade::OnUpgrade;
use wintergreen_handshake::headers::list_elements;

pub use crate::{Message, ServerOptions, UpgradeRejection, WebSocket};

/// Extracts a WebSocket opening request from an axum handler's request: an HTTP/1.1
/// `GET` with `Upgrade: websocket`, or an HTTP/2 extended `CONNECT` with
/// `:protocol = websocket` (route it with `any(handler)`, or `get(handler).connect(handler)`:
/// `get` alone does not route `CONNECT`). `axum::serve` serves both versions with upgrades.
///
/// Extraction checks the method (405 with `Allow` otherwise) and that the client asks for
/// a WebSocket (400 otherwise); [`on_upgrade`](Self::on_upgrade) then runs the RFC rules
/// and the server policy and answers `101` (HTTP/1.1) or `200` (HTTP/2), or the rejection
/// (e.g. 426 for a `Sec-WebSocket-Version` other than 13). The rejection type is
/// [`UpgradeRejection`]; take `Result<WebSocketUpgrade, UpgradeRejection>` to handle it
/// yourself.
///
/// The policy is [`ServerOptions::default`] (with the `deflate` feature, permessage-deflate
/// is accepted when offered) until [`options`](Self::options) or
/// [`protocols`](Self::protocols) change it.
#[derive(Debug)]
#[must_use = "answer the request with `on_upgrade`"]
pub struct WebSocketUpgrade {
    head: Request<()>,
    on_upgrade: Option<OnUpgrade>,
    options: ServerOptions,
}

impl<S> FromRequestParts<S> for WebSocketUpgrade
where
    S: Send + Sync,
{
    type Rejection = UpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        crate::check_route(
            &parts.method,
            parts.version,
            &parts.headers,
            &parts.extensions,
        )?;
        let mut head = Request::new(());
        *head.method_mut() = parts.method.clone();
        *head.uri_mut() = parts.uri.clone();
        *head.version_mut() = parts.version;
        *head.headers_mut() = parts.headers.clone();
        Ok(Self {
            head,
            on_upgrade: parts.extensions.remove::<OnUpgrade>(),
            options: ServerOptions::default(),
        })
    }
}

impl WebSocketUpgrade {
    /// Replaces the whole server policy and settings (subprotocols, extensions, checks,
    /// session limits, timeouts): build them with `ServerOptions` or
    /// `wintergreen::ServerBuilder`. `options.accept` and `options.handshake.limits` do not
    /// apply here (hyper reads the request).
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// The subprotocols this handler speaks, in order of preference: the first one the
    /// client also offers is chosen and sent back in `Sec-WebSocket-Protocol` (RFC 6455
    /// §4.2.2); none is chosen when the client offers none of them. Replaces earlier
    /// choices.
    pub fn protocols<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.options.handshake.policy = self.options.handshake.policy.subprotocols(protocols);
        self
    }

    /// The subprotocols the client offered, in its order (elements of every
    /// `Sec-WebSocket-Protocol` line that are UTF-8).
    pub fn requested_protocols(&self) -> impl Iterator<Item = &str> {
        list_elements(self.head.headers(), SEC_WEBSOCKET_PROTOCOL)
            .filter_map(|element| std::str::from_utf8(element).ok())
    }

    /// The HTTP version of the request: 1.1 or 2.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The request's method, URI, version and header fields (the body is not read).
    pub fn request(&self) -> &Request<()> {
        &self.head
    }

    /// Answers the request: runs the handshake with the configured policy and, on
    /// success, returns the `101`/`200` response and spawns a tokio task that runs
    /// `handler` on the [`WebSocket`] once hyper hands the connection over (see
    /// [`PendingWebSocket::on_upgrade`](crate::PendingWebSocket::on_upgrade)). On refusal
    /// it returns the [`UpgradeRejection`]'s response and `handler` never runs.
    ///
    /// To see the chosen subprotocol or extension, or to handle an upgrade that fails
    /// after the response (the client went away), use [`accept`](Self::accept) instead.
    pub fn on_upgrade<H, Fut>(self, handler: H) -> Response
    where
        H: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self.accept() {
            Ok((response, pending)) => {
                pending.on_upgrade(handler);
                response
            }
            Err(rejection) => rejection.into_response(),
        }
    }

    /// Runs the handshake with the configured policy, like [`on_upgrade`](Self::on_upgrade),
    /// but hands back what it decided: the response to return from the handler and the
    /// [`PendingWebSocket`](crate::PendingWebSocket), whose
    /// [`subprotocol`](crate::PendingWebSocket::subprotocol),
    /// [`extension`](crate::PendingWebSocket::extension) and
    /// [`version`](crate::PendingWebSocket::version) say what was chosen. Await the pending
    /// WebSocket in a task of your own (its error is hyper's, when the connection closes
    /// before the upgrade) or pass it a handler.
    ///
    /// ```no_run
    /// use axum::response::{IntoResponse, Response};
    /// use wintergreen_hyper::axum::WebSocketUpgrade;
    ///
    /// async fn handler(ws: WebSocketUpgrade) -> Response {
    ///     let (response, pending) = match ws.protocols(["chat.v2", "chat.v1"]).accept() {
    ///         Ok(accepted) => accepted,
    ///         Err(rejection) => return rejection.into_response(),
    ///     };
    ///     let protocol = pending.subprotocol().map(str::to_owned);
    ///     tokio::spawn(async move {
    ///         match pending.await {
    ///             Ok(ws) => { /* speak `protocol` on `ws` */ drop((ws, protocol)) }
    ///             Err(err) => eprintln!("upgrade failed: {err}"),
    ///         }
    ///     });
    ///     response
    /// }
    /// ```
    ///
    /// # Errors
    /// The [`UpgradeRejection`] (its `axum::response::IntoResponse` is the answer to send): the policy
    /// refused, the request breaks RFC 6455 §4.2.1 / RFC 8441 §5, or hyper prepared no
    /// upgrade for it.
    pub fn accept(self) -> Result<(Response, crate::PendingWebSocket), UpgradeRejection> {
        crate::accept(&self.head, self.on_upgrade, &self.options)
    }
}
