//! The server's side of the HTTP/1.1 upgrade (RFC 6455 §4.2 over RFC 9112): the request
//! read strictly, the 101 or a rejection written, then a [`Session`].

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use wintergreen_codec::{Config, Extension, Role, Session};
use wintergreen_handshake::{AcceptPolicy, accept};

use crate::body::content_length;
use crate::error::{Error, ParseError};
use crate::head::{HeadReader, Kind, parse_request};
use crate::limits::Limits;
use crate::output::{PendingOutput, consume};
use crate::write::{write_rejection, write_response};

/// What the server decided about a request. Either way, write the response bytes.
#[derive(Debug)]
#[must_use = "the response bytes must be written to the client"]
pub enum ServerDecision {
    /// The handshake succeeded: write the 101, then speak WebSocket.
    Accept(ServerAccept),
    /// The request was refused: write the response, then close the connection.
    Reject(ServerReject),
}

/// An accepted handshake.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerAccept {
    /// The client's request (method, URI, version, header fields).
    pub request: Request<()>,
    /// The 101 response.
    pub response: Response<()>,
    /// The 101 response's bytes, to write.
    pub response_bytes: Bytes,
    /// The chosen subprotocol, if any.
    pub subprotocol: Option<String>,
    /// The negotiated extension, if any.
    pub extension: Option<Box<dyn Extension>>,
    /// Bytes that arrived after the request head: the client's first frames.
    pub leftover: Bytes,
}

/// A refused handshake.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerReject {
    /// The client's request, when its head could be read.
    pub request: Option<Request<()>>,
    /// The response's status.
    pub status: StatusCode,
    /// The response's bytes, to write before closing. Bounded: a generated rejection's
    /// body is a short message (see
    /// [`MAX_REJECTION_MESSAGE`](wintergreen_handshake::MAX_REJECTION_MESSAGE)).
    pub response_bytes: Bytes,
    /// Why the request was refused.
    pub error: Error,
}

#[derive(Debug)]
enum State {
    Head(HeadReader),
    Done,
}

/// The server's HTTP/1.1 handshake without a session: reads a request incrementally and
/// judges it with an [`AcceptPolicy`]. Sans-IO: the caller feeds what it reads to
/// [`receive`](Self::receive) and writes the decision's response bytes.
/// [`ServerUpgrade`] is the same with a [`Session`] at the end.
///
/// The request is read strictly where RFC 9112 asks a server to be: whitespace between a
/// field name and its colon (§5.1), a folded field line (§5.2), whitespace before the first
/// field line and a bare CR (§2.2), an invalid `Content-Length` (§6.3) and
/// `Transfer-Encoding` with `Content-Length` (§6.1) get 400. Empty lines before the request-line are skipped and
/// lines may end in a bare LF (§2.2). Bytes that cannot begin a request-line (a TLS
/// ClientHello sent to a plain port, binary garbage) are refused with 400 as soon as they
/// arrive, without waiting for a whole head or a timeout.
///
/// `Expect: 100-continue` gets no 100 (Continue): the upgrade request has no content, so
/// the 101 is sent at once (RFC 9110 §10.1.1 lets a server omit the 100 then).
#[derive(Debug)]
pub struct ServerHandshake {
    policy: AcceptPolicy,
    state: State,
}

impl ServerHandshake {
    /// A handshake judged by `policy`, reading within `limits`.
    pub fn new(policy: AcceptPolicy, limits: Limits) -> Self {
        Self {
            policy,
            state: State::Head(HeadReader::new(Kind::Request, limits)),
        }
    }

    /// Feeds bytes from the client. Returns `Ok(None)` while more are needed, then the
    /// decision: every problem with the client's bytes (not HTTP, too large, an invalid
    /// handshake, refused by the policy) is a [`ServerDecision::Reject`] carrying the
    /// response to send. After the decision, every call is [`Finished`](Error::Finished).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ServerDecision>, Error> {
        let State::Head(reader) = &mut self.state else {
            return Err(Error::Finished);
        };
        let parsed = match reader.push(data, parse_request) {
            Ok(None) => return Ok(None),
            Ok(Some(parsed)) => parsed,
            Err(error) => {
                self.state = State::Done;
                return Ok(Some(reject(None, error)));
            }
        };
        self.state = State::Done;
        let (request, leftover) = parsed;
        if let Err(malformed) = check_framing(&request) {
            return Ok(Some(reject(Some(request), malformed.into())));
        }
        Ok(Some(match accept(&request, &self.policy) {
            Ok((response, negotiated)) => {
                tracing::debug!(
                    uri = %request.uri(),
                    subprotocol = ?negotiated.subprotocol,
                    leftover = leftover.len(),
                    "server handshake accepted"
                );
                ServerDecision::Accept(ServerAccept {
                    response_bytes: Bytes::from(write_response(&response)),
                    request,
                    response,
                    subprotocol: negotiated.subprotocol,
                    extension: negotiated.extension,
                    leftover,
                })
            }
            Err(error) => reject(Some(request), error.into()),
        }))
    }

    /// The client closed the connection. Fine before any byte arrived (or after the
    /// decision); in the middle of a request it is [`UnexpectedEof`](Error::UnexpectedEof).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Head(reader) if !reader.is_empty() => Err(Error::UnexpectedEof),
            _ => Ok(()),
        }
    }
}

/// The request's body framing must be readable even though an upgrade request may not
/// have a body (RFC 9112 §6.3): an invalid `Content-Length` (item 5) and
/// `Transfer-Encoding` with `Content-Length` (§6.1: the server may reject it) are
/// malformed, answered with 400.
fn check_framing(request: &Request<()>) -> Result<(), ParseError> {
    let headers = request.headers();
    content_length(headers)?;
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(ParseError::TransferEncodingWithContentLength);
    }
    Ok(())
}

fn reject(request: Option<Request<()>>, error: Error) -> ServerDecision {
    let rejection = error.rejection();
    tracing::debug!(status = %rejection.status(), %error, "server handshake rejected");
    ServerDecision::Reject(ServerReject {
        request,
        status: rejection.status(),
        response_bytes: Bytes::from(write_rejection(&rejection)),
        error,
    })
}

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
    /// Limits on the client's request. Default: [`Limits::default`].
    pub limits: Limits,
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
                    error: rejected.error,
                }))
            }
        }))
    }

    /// The client closed the connection. Fine before any byte arrived (an idle
    /// connection) or after the decision; in the middle of a request it is
    /// [`UnexpectedEof`](Error::UnexpectedEof).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        self.handshake.receive_eof()
    }
}

/// The server's decision. Either way there are response bytes to write first: the parts
/// behind it ([`ServerAccepted::into_parts`], [`ServerRejected::into_error`]) are only
/// handed out once [`pending_output`](PendingOutput::pending_output) is consumed.
#[derive(Debug)]
#[must_use = "the response bytes must be written to the client"]
pub enum ServerUpgraded {
    /// The request was accepted: write the 101, then run the session.
    Accepted(Box<ServerAccepted>),
    /// The request was refused: write the response, then close the connection.
    Rejected(Box<ServerRejected>),
}

impl PendingOutput for ServerUpgraded {
    fn pending_output(&self) -> &[u8] {
        match self {
            Self::Accepted(accepted) => accepted.pending_output(),
            Self::Rejected(rejected) => rejected.pending_output(),
        }
    }

    fn consume_output(&mut self, n: usize) {
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

/// The 101 response's bytes ([`PendingOutput`]).
impl PendingOutput for ServerAccepted {
    fn pending_output(&self) -> &[u8] {
        &self.output
    }

    fn consume_output(&mut self, n: usize) {
        consume(&mut self.output, n);
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

    /// The error, once the response is written (then close the connection); until then,
    /// `Err` gives this value back.
    pub fn into_error(self: Box<Self>) -> Result<Error, Box<Self>> {
        if !self.is_flushed() {
            return Err(self);
        }
        Ok(self.error)
    }
}

/// The refusal's bytes ([`PendingOutput`]).
impl PendingOutput for ServerRejected {
    fn pending_output(&self) -> &[u8] {
        &self.output
    }

    fn consume_output(&mut self, n: usize) {
        consume(&mut self.output, n);
    }
}
