//! The server's side of the opening handshake (RFC 6455 §4.2), for HTTP/1.1.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use wintergreen_codec::Extension;

use crate::error::{HandshakeError, Rejection};
use crate::headers::{has_token, list_elements};
use crate::key::{accept_key, is_valid_key};
use crate::limits::HandshakeLimits;
use crate::negotiate::{AcceptPolicy, Negotiated, check_version};
use crate::parse::{HeadReader, parse_request};
use crate::write::{push_header, push_headers, push_raw_header, push_status_line};

/// Checks the HTTP/1.1 rules of an opening request (RFC 6455 §4.2.1): method GET,
/// HTTP/1.1, one `Host`, `Upgrade: websocket`, `Connection: upgrade`,
/// `Sec-WebSocket-Version: 13`, one `Sec-WebSocket-Key` encoding 16 bytes, and no body.
/// Returns the `Sec-WebSocket-Accept` value.
pub fn validate_request(request: &Request<()>) -> Result<String, HandshakeError> {
    if request.method() != Method::GET {
        return Err(HandshakeError::InvalidMethod(request.method().clone()));
    }
    if request.version() != Version::HTTP_11 {
        return Err(HandshakeError::UnsupportedHttpVersion);
    }
    let headers = request.headers();
    if headers.get_all(header::HOST).iter().count() != 1 {
        return Err(HandshakeError::MissingHost);
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    check_version(headers)?;
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = keys.next().ok_or(HandshakeError::MissingKey)?;
    let key = key.as_bytes().trim_ascii();
    if keys.next().is_some() || !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || list_elements(headers, header::CONTENT_LENGTH)
            .any(|length| length.iter().any(|&b| b != b'0'));
    if has_body {
        return Err(HandshakeError::UnexpectedBody);
    }
    Ok(accept_key(key))
}

/// Judges an opening request: [`validate_request`], then the policy's
/// [`negotiate`](AcceptPolicy::negotiate). Returns the 101 response (with `Upgrade`,
/// `Connection`, `Sec-WebSocket-Accept`, the chosen subprotocol and extension, then the
/// policy's extra headers) and what was negotiated.
pub fn accept(
    request: &Request<()>,
    policy: &AcceptPolicy,
) -> Result<(Response<()>, Negotiated), HandshakeError> {
    let accept = validate_request(request)?;
    let negotiated = policy.negotiate(request)?;
    let mut headers = HeaderMap::new();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = HeaderValue::from_str(&accept)
        .map_err(|_| HandshakeError::ServerNegotiation("unwritable Sec-WebSocket-Accept".into()))?;
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    negotiated.write_headers(&mut headers);
    for (name, value) in policy.response_headers() {
        headers.append(name, value.clone());
    }
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *response.headers_mut() = headers;
    Ok((response, negotiated))
}

/// Writes a response head (status line and header fields, conventionally cased).
pub fn write_response(response: &Response<()>) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    push_status_line(&mut out, response.status());
    push_headers(&mut out, response.headers());
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes a whole HTTP/1.1 rejection response: [`rejection_response`](crate::rejection_response)
/// (status, header fields less the hop-by-hop ones, `Content-Length`), then
/// `Connection: close` and the body.
pub fn write_rejection(rejection: &Rejection) -> Vec<u8> {
    let response = crate::response::rejection_response(rejection, http::Version::HTTP_11);
    let body = response.body();
    let mut out = Vec::with_capacity(128 + body.len());
    push_status_line(&mut out, response.status());
    for (name, value) in response.headers() {
        push_header(&mut out, name, value);
    }
    push_raw_header(&mut out, "Connection", b"close");
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

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
    /// The response's bytes, to write before closing.
    pub response_bytes: Bytes,
    /// Why the request was refused.
    pub error: HandshakeError,
}

#[derive(Debug)]
enum State {
    Head(HeadReader),
    Done,
}

/// The server's handshake: reads a request incrementally and judges it with an
/// [`AcceptPolicy`]. Sans-IO: the caller feeds what it reads to
/// [`receive`](Self::receive) and writes the decision's response bytes.
#[derive(Debug)]
pub struct ServerHandshake {
    policy: AcceptPolicy,
    limits: HandshakeLimits,
    state: State,
}

impl ServerHandshake {
    /// A handshake judged by `policy`, reading within `limits`.
    pub fn new(policy: AcceptPolicy, limits: HandshakeLimits) -> Self {
        Self {
            policy,
            limits,
            state: State::Head(HeadReader::new(limits)),
        }
    }

    /// Feeds bytes from the client. Returns `Ok(None)` while more are needed, then the
    /// decision: every problem with the client's bytes (malformed, too large, invalid
    /// handshake, refused by the policy) is a [`ServerDecision::Reject`] carrying the
    /// response to send. After the decision, every call is
    /// [`Finished`](HandshakeError::Finished).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<ServerDecision>, HandshakeError> {
        let State::Head(reader) = &mut self.state else {
            return Err(HandshakeError::Finished);
        };
        let limits = self.limits;
        let parsed = match reader.push(data, |head| parse_request(head, &limits)) {
            Ok(None) => return Ok(None),
            Ok(Some(parsed)) => parsed,
            Err(error) => {
                self.state = State::Done;
                return Ok(Some(reject(None, error)));
            }
        };
        self.state = State::Done;
        let (request, leftover) = parsed;
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
            Err(error) => reject(Some(request), error),
        }))
    }

    /// The client closed the connection. Fine before any byte arrived (or after the
    /// decision); in the middle of a request it is
    /// [`UnexpectedEof`](HandshakeError::UnexpectedEof).
    pub fn receive_eof(&mut self) -> Result<(), HandshakeError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Head(reader) if !reader.is_empty() => Err(HandshakeError::UnexpectedEof),
            _ => Ok(()),
        }
    }
}

fn reject(request: Option<Request<()>>, error: HandshakeError) -> ServerDecision {
    let rejection = error.rejection();
    tracing::debug!(status = %rejection.status(), %error, "server handshake rejected");
    ServerDecision::Reject(ServerReject {
        request,
        status: rejection.status(),
        response_bytes: Bytes::from(write_rejection(&rejection)),
        error,
    })
}
