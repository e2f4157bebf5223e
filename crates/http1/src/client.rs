//! The client's side of the HTTP/1.1 upgrade (RFC 6455 §4.1 over RFC 9112): the request
//! written, the server's response read as a user agent (RFC 9110 §15, RFC 9112 §2–§6),
//! then a [`Session`].

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, Response, StatusCode};
use wintergreen_codec::{Config, Extension, ExtensionFactory, Role, Session};
use wintergreen_handshake::{
    ClientOffer, ClientRequest, HandshakeError, PreparedRequest, accept_key, generate_key,
    validate_response,
};

use crate::body::{Framing, response_framing};
use crate::error::Error;
use crate::limits::Limits;
use crate::output::{PendingOutput, consume};
use crate::response::ResponseReader;
use crate::write::{push_headers, push_raw_header};

/// The server's accepted answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClientAccept {
    /// The 101 response's status, version and header fields.
    pub response: Response<()>,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The negotiated extension, if any.
    pub extension: Option<Box<dyn Extension>>,
    /// Bytes that arrived after the response head: the server's first frames.
    pub leftover: Bytes,
}

/// A final non-101 response (a refusal) whose body is arriving.
#[derive(Debug)]
struct FailedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: BytesMut,
    framing: Framing,
    max_body: usize,
}

impl FailedResponse {
    /// Takes body bytes; returns whether the body is complete or the bound is reached.
    fn feed(&mut self, data: &[u8]) -> bool {
        let room = self.max_body.saturating_sub(self.body.len());
        match &mut self.framing {
            Framing::Length(wanted) => {
                let take = usize::try_from(*wanted)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.body
                    .extend_from_slice(data.get(..take.min(room)).unwrap_or_default());
                *wanted = wanted.saturating_sub(take as u64);
                *wanted == 0 || self.body.len() >= self.max_body
            }
            Framing::Chunked(chunked) => chunked.feed(data, &mut self.body, self.max_body),
            Framing::UntilEof => {
                let take = data.len().min(room);
                self.body
                    .extend_from_slice(data.get(..take).unwrap_or_default());
                self.body.len() >= self.max_body
            }
        }
    }

    fn into_error(self) -> Error {
        tracing::debug!(status = %self.status, body_len = self.body.len(), "upgrade refused");
        Error::Handshake(HandshakeError::UpgradeFailed {
            status: self.status,
            headers: Box::new(self.headers),
            body: self.body.freeze(),
        })
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for a response head (interim or final).
    Head(ResponseReader),
    /// A refusal's body is arriving.
    Body(FailedResponse),
    /// A result was returned.
    Done,
}

/// The client's HTTP/1.1 handshake without a session: the request bytes to send, then the
/// server's response read incrementally. Sans-IO: the caller writes
/// [`request_bytes`](Self::request_bytes) and feeds what it reads to
/// [`receive`](Self::receive). [`ClientUpgrade`] is the same with a [`Session`] at the end.
///
/// The response is read as RFC 9110/9112 ask of a user agent:
/// - 1xx interim responses (100 Continue, 103 Early Hints, …) before the final one are
///   skipped, also when they arrive in the same read as it (RFC 9110 §15.2), at most
///   [`max_interim_responses`](Limits::max_interim_responses) of them; 101 is final;
/// - the reason phrase may be empty or absent (RFC 9112 §4), lines may end in a bare LF
///   (§2.2), folded field lines are unfolded (§5.2), HTTP/1.0 answers are read;
/// - whitespace between a field name and its colon (§5.1), an invalid `Content-Length`
///   (§6.3 item 5), `Transfer-Encoding` with `Content-Length` (§6.3 item 3) or in HTTP/1.0
///   (§6.1) are [`Malformed`](Error::Malformed);
/// - a refusal's body is read by its framing (RFC 9112 §6.3), at most
///   [`max_body_bytes`](Limits::max_body_bytes) of it.
///
/// ```
/// use wintergreen_handshake::{ClientRequest, accept_key};
/// use wintergreen_http1::{ClientHandshake, Limits};
///
/// let request = ClientRequest::from_url("wss://example.com/chat?room=1", http::HeaderMap::new())
///     .unwrap()
///     .subprotocols(["chat.v2", "chat.v1"]);
/// let mut handshake = ClientHandshake::new(request, Limits::default()).unwrap();
/// assert!(handshake.request_bytes().starts_with(b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n"));
///
/// let answer = format!(
///     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///      Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
///     accept_key(handshake.key().as_bytes()),
/// );
/// let accepted = handshake.receive(answer.as_bytes()).unwrap().unwrap();
/// assert_eq!(accepted.response.status(), 101);
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    offer: ClientOffer,
    key: String,
    expected_accept: String,
    request: Bytes,
    limits: Limits,
    state: State,
}

impl ClientHandshake {
    /// Checks the request ([`ClientRequest::prepare`]), draws a fresh key, and writes the
    /// request bytes:
    ///
    /// ```text
    /// GET /path?query HTTP/1.1
    /// Host: host[:port]            (port only when not the scheme's default)
    /// Upgrade: websocket
    /// Connection: Upgrade
    /// Sec-WebSocket-Key: <16 random bytes, base64>
    /// Sec-WebSocket-Version: 13
    /// Sec-WebSocket-Protocol: ...  (if any subprotocol is offered)
    /// Sec-WebSocket-Extensions: ...(if any extension offers something)
    /// <the caller's header fields, title-cased>
    /// ```
    ///
    /// `limits` bound what the server's response may make this handshake buffer.
    pub fn new(request: ClientRequest, limits: Limits) -> Result<Self, Error> {
        let PreparedRequest {
            host,
            target,
            headers,
            offer,
            ..
        } = request.prepare()?;
        let key = generate_key();
        let expected_accept = accept_key(key.as_bytes());

        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        push_raw_header(&mut out, "Host", host.as_bytes());
        push_raw_header(&mut out, "Upgrade", b"websocket");
        push_raw_header(&mut out, "Connection", b"Upgrade");
        push_raw_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
        push_raw_header(&mut out, "Sec-WebSocket-Version", b"13");
        if let Some(protocols) = offer.protocol_header() {
            push_raw_header(&mut out, "Sec-WebSocket-Protocol", protocols.as_bytes());
        }
        if let Some(extensions) = offer.extensions_header() {
            push_raw_header(&mut out, "Sec-WebSocket-Extensions", extensions.as_bytes());
        }
        push_headers(&mut out, &headers);
        out.extend_from_slice(b"\r\n");
        tracing::debug!(%host, %target, subprotocols = ?offer.subprotocols(), "client handshake started");

        Ok(Self {
            offer,
            key,
            expected_accept,
            request: Bytes::from(out),
            limits,
            state: State::Head(ResponseReader::new(limits)),
        })
    }

    /// The request bytes to send.
    pub fn request_bytes(&self) -> &Bytes {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What was offered.
    pub fn offer(&self) -> &ClientOffer {
        &self.offer
    }

    /// Feeds bytes from the server. Returns `Ok(None)` while more are needed, the accepted
    /// answer once a valid 101 head arrived, or an error. A final non-101 response is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed), returned once its body is complete
    /// (by `Content-Length`, chunked framing, or
    /// [`max_body_bytes`](Limits::max_body_bytes)) or at [`receive_eof`](Self::receive_eof).
    /// After a result, every call is [`Finished`](Error::Finished).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ClientAccept>, Error> {
        let result = self.step(data);
        if !matches!(result, Ok(None)) {
            self.state = State::Done;
        }
        result
    }

    /// The server closed the connection. Ends a refusal's body (the result is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed)); before a whole final head it is
    /// [`UnexpectedEof`](Error::UnexpectedEof).
    pub fn receive_eof(&mut self) -> Error {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Head(_) => Error::UnexpectedEof,
            State::Body(failed) => failed.into_error(),
            State::Done => Error::Finished,
        }
    }

    /// The caller's bound on the handshake ran out. A refusal whose head has arrived ends
    /// here, with the body so far: [`UpgradeFailed`](HandshakeError::UpgradeFailed), so that
    /// a server that sends its refusal's body slowly, or never ends it (no length, the
    /// connection kept open), still tells the caller its status. `None` before a whole final
    /// head (nothing to report but the caller's own timeout) or after a result.
    pub fn receive_timeout(&mut self) -> Option<Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Body(failed) => Some(failed.into_error()),
            State::Head(_) | State::Done => None,
        }
    }

    fn step(&mut self, data: &[u8]) -> Result<Option<ClientAccept>, Error> {
        let reader = match &mut self.state {
            State::Done => return Err(Error::Finished),
            State::Body(failed) => {
                if !failed.feed(data) {
                    return Ok(None);
                }
                return match std::mem::replace(&mut self.state, State::Done) {
                    State::Body(failed) => Err(failed.into_error()),
                    _ => Err(Error::Finished),
                };
            }
            State::Head(reader) => reader,
        };
        // Interim responses are skipped by the reader (RFC 9110 §15.2); 101 is final.
        let Some((response, leftover)) = reader.receive(data)? else {
            return Ok(None);
        };
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return self.accept(response, leftover).map(Some);
        }
        self.fail(response, &leftover)
    }

    /// A final non-101 head: collect its body (or end now if it has none).
    fn fail(
        &mut self,
        response: Response<()>,
        leftover: &[u8],
    ) -> Result<Option<ClientAccept>, Error> {
        let (parts, ()) = response.into_parts();
        let framing = response_framing(parts.status, parts.version, &parts.headers)?;
        let mut failed = FailedResponse {
            status: parts.status,
            headers: parts.headers,
            body: BytesMut::new(),
            framing,
            max_body: self.limits.max_body_bytes,
        };
        let done = matches!(failed.framing, Framing::Length(0)) || failed.feed(leftover);
        if done {
            return Err(failed.into_error());
        }
        self.state = State::Body(failed);
        Ok(None)
    }

    /// A 101 head: check it (RFC 6455 §4.1, the client's checks 1–6).
    fn accept(&self, response: Response<()>, leftover: Bytes) -> Result<ClientAccept, Error> {
        validate_response(&response, &self.expected_accept)?;
        let negotiated = self.offer.accept_response(response.headers())?;
        tracing::debug!(leftover = leftover.len(), "client handshake accepted");
        Ok(ClientAccept {
            response,
            subprotocol: negotiated.subprotocol,
            extension: negotiated.extension,
            leftover,
        })
    }
}

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
    /// Limits on the server's response. Default: [`Limits::default`].
    pub limits: Limits,
}

/// A client's HTTP/1.1 upgrade in progress. Sans-IO: write
/// [`pending_output`](PendingOutput::pending_output), feed what the server sends to
/// [`receive`](Self::receive) until it yields a [`ClientUpgraded`].
///
/// ```
/// use wintergreen_http1::{ClientConfig, ClientUpgrade, PendingOutput};
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

/// The request's bytes ([`PendingOutput`]).
impl PendingOutput for ClientUpgrade {
    fn pending_output(&self) -> &[u8] {
        &self.output
    }

    fn consume_output(&mut self, n: usize) {
        consume(&mut self.output, n);
    }
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
            .extensions(extensions);
        let handshake = ClientHandshake::new(request, limits)?;
        Ok(Self {
            output: handshake.request_bytes().clone(),
            handshake,
            session,
        })
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        self.handshake.key()
    }

    /// Feeds bytes from the server: `Ok(None)` while more are needed, the upgraded
    /// connection once a valid 101 arrived, or the error (a non-101 answer is
    /// [`UpgradeFailed`](HandshakeError::UpgradeFailed) once its body
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
    /// upgrade failed: [`UpgradeFailed`](HandshakeError::UpgradeFailed)
    /// with the body received so far when a non-101 response's body ends at EOF, otherwise
    /// [`UnexpectedEof`](Error::UnexpectedEof). (An EOF never
    /// completes an upgrade, so there is no success case.)
    pub fn receive_eof(&mut self) -> Error {
        self.handshake.receive_eof()
    }

    /// The caller's bound on the handshake ran out: a refusal whose head arrived, with the
    /// body so far, or `None` ([`ClientHandshake::receive_timeout`]).
    pub fn receive_timeout(&mut self) -> Option<Error> {
        self.handshake.receive_timeout()
    }
}
