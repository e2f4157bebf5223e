//! The client's upgrade: request out, 101 in, then a [`Session`].

use std::sync::Arc;

use bytes::{Buf as _, Bytes};
use http::{HeaderMap, Request, Response};
use wintergreen_codec::{Config, ExtensionFactory, Role, Session};
use wintergreen_handshake::{ClientHandshake, ClientRequest, HandshakeLimits};

use crate::error::Error;

/// How a client upgrades. Build it from [`ClientConfig::default`] and set the fields you
/// need; new fields will get defaults.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The session's configuration after the upgrade.
    pub session: Config,
    /// Subprotocols to offer, in order of preference (a `Sec-WebSocket-Protocol` header on
    /// the request is offered too). Default: none.
    pub subprotocols: Vec<String>,
    /// Extensions to offer, in order. Default: none.
    pub extensions: Vec<Arc<dyn ExtensionFactory>>,
    /// Extra header fields for every request (after the request's own). Default: none.
    pub headers: HeaderMap,
    /// Limits on the server's response. Default: [`HandshakeLimits::default`].
    pub limits: HandshakeLimits,
}

/// A client's HTTP/1.1 upgrade in progress. Sans-IO: write
/// [`pending_output`](Self::pending_output), feed what the server sends to
/// [`receive`](Self::receive) until it yields a [`ClientUpgraded`].
///
/// ```
/// use wintergreen_http1::{ClientConfig, ClientUpgrade};
///
/// let request = http::Request::get("ws://example.com/chat").body(()).unwrap();
/// let mut upgrade = ClientUpgrade::new(request, ClientConfig::default()).unwrap();
/// assert!(upgrade.pending_output().starts_with(b"GET /chat HTTP/1.1\r\n"));
/// let n = upgrade.pending_output().len();
/// upgrade.consume_output(n); // written
/// // ... then feed the server's bytes with upgrade.receive(&bytes)
/// ```
#[derive(Debug)]
pub struct ClientUpgrade {
    handshake: ClientHandshake,
    output: Bytes,
    session: Config,
}

/// A successful client upgrade.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClientUpgraded {
    /// The 101 response (status, version, header fields).
    pub response: Response<()>,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The connection's session: [`Role::Client`], with the negotiated extension attached
    /// and any bytes that followed the 101 already received (poll it for events).
    pub session: Session,
}

impl ClientUpgrade {
    /// Starts an upgrade for `request` (URI `ws://`, `wss://`, `http://` or `https://`;
    /// method GET; its header fields are sent after the handshake's own) and queues the
    /// request bytes.
    pub fn new(request: Request<()>, config: ClientConfig) -> Result<Self, Error> {
        let ClientConfig {
            session,
            subprotocols,
            extensions,
            headers,
            limits,
        } = config;
        let request = ClientRequest::new(request)
            .headers(headers)
            .subprotocols(subprotocols)
            .extensions(extensions)
            .limits(limits);
        let handshake = ClientHandshake::new(request)?;
        Ok(Self {
            output: handshake.request_bytes().clone(),
            handshake,
            session,
        })
    }

    /// The request bytes not yet written.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// Drops the first `n` bytes of the pending output (they were written).
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.advance(n);
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        self.handshake.key()
    }

    /// Feeds bytes from the server: `Ok(None)` while more are needed, the upgraded
    /// connection once a valid 101 arrived, or the error (a non-101 answer is
    /// [`UpgradeFailed`](wintergreen_handshake::HandshakeError::UpgradeFailed) once its body
    /// is complete).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ClientUpgraded>, Error> {
        let Some(accepted) = self.handshake.receive(data)? else {
            return Ok(None);
        };
        let mut session = Session::new(Role::Client, self.session.clone());
        if let Some(extension) = accepted.extension {
            session = session.with_extension(extension);
        }
        session
            .receive_buffer()
            .extend_from_slice(&accepted.leftover);
        tracing::debug!(subprotocol = ?accepted.subprotocol, "client upgraded");
        Ok(Some(ClientUpgraded {
            response: accepted.response,
            subprotocol: accepted.subprotocol,
            session,
        }))
    }

    /// The server closed the connection before the upgrade completed. Returns why the
    /// upgrade failed: [`UpgradeFailed`](wintergreen_handshake::HandshakeError::UpgradeFailed)
    /// with the body received so far when a non-101 response's body ends at EOF, otherwise
    /// [`UnexpectedEof`](wintergreen_handshake::HandshakeError::UnexpectedEof). (An EOF never
    /// completes an upgrade, so there is no success case.)
    pub fn receive_eof(&mut self) -> Error {
        self.handshake.receive_eof().into()
    }
}
