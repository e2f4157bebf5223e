//! The server's upgrade: request in, 101 or rejection out, then a [`Session`].

use bytes::{Buf as _, Bytes};
use http::{Request, Response, StatusCode};
use wintergreen_codec::{Config, Role, Session};
use wintergreen_handshake::{AcceptPolicy, HandshakeLimits, ServerDecision, ServerHandshake};

use crate::error::Error;

/// How a server upgrades. Build it from [`ServerConfig::default`] and set the fields you
/// need; new fields will get defaults.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The session's configuration after the upgrade.
    pub session: Config,
    /// Which requests to accept, with which subprotocol and extension. Default: accept
    /// every valid request, no subprotocol, no extension.
    pub policy: AcceptPolicy,
    /// Limits on the client's request. Default: [`HandshakeLimits::default`].
    pub limits: HandshakeLimits,
}

/// A server's HTTP/1.1 upgrade in progress. Sans-IO: feed what the client sends to
/// [`receive`](Self::receive) until it yields a [`ServerUpgraded`], then write that
/// decision's output.
#[derive(Debug)]
pub struct ServerUpgrade {
    handshake: ServerHandshake,
    session: Config,
}

impl ServerUpgrade {
    /// Waits for a request.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            handshake: ServerHandshake::new(config.policy, config.limits),
            session: config.session,
        }
    }

    /// Feeds bytes from the client: `Ok(None)` while more are needed, then the decision.
    /// Every problem with the client's request is a [`ServerUpgraded::Rejected`] with the
    /// response to write; `Err` only comes from calling this after the decision.
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ServerUpgraded>, Error> {
        let Some(decision) = self.handshake.receive(data)? else {
            return Ok(None);
        };
        Ok(Some(match decision {
            ServerDecision::Accept(accepted) => {
                let mut session = Session::new(Role::Server, self.session.clone());
                if let Some(extension) = accepted.extension {
                    session = session.with_extension(extension);
                }
                session
                    .receive_buffer()
                    .extend_from_slice(&accepted.leftover);
                tracing::debug!(uri = %accepted.request.uri(), subprotocol = ?accepted.subprotocol, "server upgraded");
                ServerUpgraded::Accepted(Box::new(ServerAccepted {
                    request: accepted.request,
                    response: accepted.response,
                    subprotocol: accepted.subprotocol,
                    output: accepted.response_bytes,
                    session,
                }))
            }
            ServerDecision::Reject(rejected) => {
                ServerUpgraded::Rejected(Box::new(ServerRejected {
                    request: rejected.request,
                    status: rejected.status,
                    output: rejected.response_bytes,
                    error: rejected.error.into(),
                }))
            }
        }))
    }

    /// The client closed the connection. Fine before any byte arrived (an idle
    /// connection) or after the decision; in the middle of a request it is
    /// [`UnexpectedEof`](wintergreen_handshake::HandshakeError::UnexpectedEof).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        Ok(self.handshake.receive_eof()?)
    }
}

/// The server's decision. Either way there are response bytes to write first: the parts
/// behind it ([`ServerAccepted::into_parts`], [`ServerRejected::into_error`]) are only
/// handed out once [`pending_output`](Self::pending_output) is consumed.
#[derive(Debug)]
#[must_use = "the response bytes must be written to the client"]
pub enum ServerUpgraded {
    /// The request was accepted: write the 101, then run the session.
    Accepted(Box<ServerAccepted>),
    /// The request was refused: write the response, then close the connection.
    Rejected(Box<ServerRejected>),
}

impl ServerUpgraded {
    /// The response bytes not yet written.
    pub fn pending_output(&self) -> &[u8] {
        match self {
            Self::Accepted(accepted) => accepted.pending_output(),
            Self::Rejected(rejected) => rejected.pending_output(),
        }
    }

    /// Drops the first `n` bytes of the pending output (they were written).
    pub fn consume_output(&mut self, n: usize) {
        match self {
            Self::Accepted(accepted) => accepted.consume_output(n),
            Self::Rejected(rejected) => rejected.consume_output(n),
        }
    }
}

/// An accepted upgrade whose 101 response still has to be written.
#[derive(Debug)]
pub struct ServerAccepted {
    request: Request<()>,
    response: Response<()>,
    subprotocol: Option<String>,
    output: Bytes,
    session: Session,
}

/// What an accepted upgrade hands over once its 101 is written.
#[derive(Debug)]
#[non_exhaustive]
pub struct AcceptedParts {
    /// The client's request (method, URI, version, header fields).
    pub request: Request<()>,
    /// The 101 response that was written.
    pub response: Response<()>,
    /// The chosen subprotocol, if any.
    pub subprotocol: Option<String>,
    /// The connection's session: [`Role::Server`], with the negotiated extension attached
    /// and any bytes that followed the request already received (poll it for events).
    pub session: Session,
}

impl ServerAccepted {
    /// The client's request.
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// The 101 response.
    pub fn response(&self) -> &Response<()> {
        &self.response
    }

    /// The chosen subprotocol, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The session (to inspect; its own output goes after the 101).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The 101 response bytes not yet written.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// Drops the first `n` bytes of the pending output (they were written, or the caller
    /// took them into its own write buffer).
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.advance(n);
    }

    /// Whether the whole 101 response was written.
    pub fn is_flushed(&self) -> bool {
        self.output.is_empty()
    }

    /// The request, response, subprotocol and session, once the 101 is written; until
    /// then, `Err` gives this value back.
    pub fn into_parts(self: Box<Self>) -> Result<AcceptedParts, Box<Self>> {
        if !self.is_flushed() {
            return Err(self);
        }
        let this = *self;
        Ok(AcceptedParts {
            request: this.request,
            response: this.response,
            subprotocol: this.subprotocol,
            session: this.session,
        })
    }
}

/// A refused upgrade whose response still has to be written before closing.
#[derive(Debug)]
pub struct ServerRejected {
    request: Option<Request<()>>,
    status: StatusCode,
    output: Bytes,
    error: Error,
}

impl ServerRejected {
    /// The client's request, when its head could be read.
    pub fn request(&self) -> Option<&Request<()>> {
        self.request.as_ref()
    }

    /// The response's status (400, 426, 431, the policy's own, ...).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Why the request was refused.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The response bytes not yet written.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// Drops the first `n` bytes of the pending output (they were written; pass
    /// `usize::MAX` to give up on writing them, e.g. when the connection is gone).
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.advance(n);
    }

    /// Whether the whole response was written.
    pub fn is_flushed(&self) -> bool {
        self.output.is_empty()
    }

    /// The error, once the response is written (then close the connection); until then,
    /// `Err` gives this value back.
    pub fn into_error(self: Box<Self>) -> Result<Error, Box<Self>> {
        if !self.is_flushed() {
            return Err(self);
        }
        Ok(self.error)
    }
}
