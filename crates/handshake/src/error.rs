//! What can go wrong in an opening handshake, and the HTTP answer a server sends for it.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, SEC_WEBSOCKET_VERSION};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use wintergreen_codec::ExtensionError;

use crate::headers::{ExtensionHeaderError, InvalidExtensionElement};

/// A failed opening handshake. Client-side variants say what the server got wrong (or
/// what the caller's request got wrong); server-side variants say what the client got
/// wrong, and [`rejection`](Self::rejection) is the response to send for them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    // --- Building a client request ---
    /// The URI is not a `ws://`, `wss://`, `http://` or `https://` URI with a host.
    #[error("invalid WebSocket URI: {0}")]
    InvalidUri(String),
    /// An offered subprotocol is not a non-empty HTTP token.
    #[error("invalid subprotocol {0:?}: it must be a non-empty HTTP token")]
    InvalidSubprotocol(String),
    /// An extension factory's offer cannot be written as a header.
    #[error("invalid extension offer: {0}")]
    InvalidExtensionOffer(InvalidExtensionElement),
    /// The caller supplied a header that the handshake writes itself.
    #[error("the {0} header is written by the handshake and must not be supplied")]
    ReservedHeader(HeaderName),
    /// The caller's request has a method that cannot open a WebSocket: a client request is a
    /// `GET` (RFC 6455 §4.1), which HTTP/2 turns into an extended `CONNECT` (RFC 8441 §4), so
    /// `GET` (and, over HTTP/2, `CONNECT` itself) is all a caller may give.
    #[error("a WebSocket request's method is GET, not {method}")]
    InvalidRequestMethod {
        /// The method the caller's request has.
        method: Method,
    },

    // --- Client: judging the server's response (RFC 6455 §4.1) ---
    /// The server answered with a status other than 101 Switching Protocols.
    #[error("the server answered {status} instead of 101 Switching Protocols")]
    UpgradeFailed {
        /// The response's status.
        status: StatusCode,
        /// The response's header fields.
        headers: Box<HeaderMap>,
        /// The response's body (de-chunked if it was chunked), cut at the transport's
        /// bound.
        body: Bytes,
    },
    /// The `Upgrade` header does not list `websocket`.
    #[error("the Upgrade header does not list websocket")]
    MissingUpgrade,
    /// The `Connection` header does not list `upgrade`.
    #[error("the Connection header does not list upgrade")]
    MissingConnectionUpgrade,
    /// The response has no `Sec-WebSocket-Accept` header.
    #[error("the response has no Sec-WebSocket-Accept header")]
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key sent (or appears more than once).
    #[error("Sec-WebSocket-Accept does not match the Sec-WebSocket-Key sent")]
    InvalidAccept,
    /// The server chose more than one subprotocol.
    #[error("the server chose more than one subprotocol")]
    MultipleSubprotocols,
    /// The server chose a subprotocol the client did not offer.
    #[error("the server chose subprotocol {0:?}, which was not offered")]
    UnofferedSubprotocol(String),
    /// A `Sec-WebSocket-Extensions` header does not follow RFC 6455 §9.1.
    #[error(transparent)]
    InvalidExtensionHeader(#[from] ExtensionHeaderError),
    /// The server accepted an extension the client did not offer.
    #[error("the server accepted extension {0:?}, which was not offered")]
    UnofferedExtension(String),
    /// The server's answer names the same extension twice.
    #[error("the server's answer names extension {0:?} more than once")]
    DuplicateExtension(String),
    /// The extension's factory refused the server's answer.
    #[error("extension {name:?} refused the server's answer: {source}")]
    ExtensionRejected {
        /// The extension's name.
        name: String,
        /// Why the factory refused it.
        source: ExtensionError,
    },
    /// The server accepted two extensions; a wintergreen connection runs at most one.
    #[error(
        "the server accepted extensions {first:?} and {second:?}, but a connection runs at most one"
    )]
    MultipleExtensions {
        /// The first accepted extension.
        first: String,
        /// The second.
        second: String,
    },

    // --- Server: judging the client's request (RFC 6455 §4.2.1) ---
    /// The peer's request method cannot open a WebSocket over its HTTP version: HTTP/1.1
    /// needs `GET` (RFC 6455 §4.1), HTTP/2 an extended `CONNECT` (RFC 8441 §4). A server
    /// answers 405 (Method Not Allowed) with `Allow: <expected>` (RFC 9110 §15.5.6). (A
    /// client's own request with a wrong method is
    /// [`InvalidRequestMethod`](Self::InvalidRequestMethod), the caller's fault.)
    #[error("the request method is {method}, not {expected}")]
    InvalidMethod {
        /// The method the request has.
        method: Method,
        /// The method that opens a WebSocket over the request's HTTP version.
        expected: Method,
    },
    /// The request is not HTTP/1.1.
    #[error("the request is not HTTP/1.1")]
    UnsupportedHttpVersion,
    /// The request target names no resource: the asterisk-form `*` (only for `OPTIONS`,
    /// RFC 9112 §3.2.4), the authority-form (only for `CONNECT`, §3.2.3), or an absolute URI
    /// whose scheme is not `http`, `https`, `ws` or `wss`. RFC 6455 §4.1 item 2 asks for a
    /// resource name (an origin-form path) or an absolute URI containing one. Answered 400.
    #[error("the request target is not a resource path (RFC 6455 §4.1)")]
    InvalidRequestTarget,
    /// The request has no `Host` header, or more than one.
    #[error("the request must have exactly one Host header")]
    MissingHost,
    /// The `Host` header is not a valid `host[:port]` authority (RFC 9112 §3.2).
    #[error("the Host header is not a valid authority")]
    InvalidHost,
    /// The request has no `Sec-WebSocket-Key` header.
    #[error("the request has no Sec-WebSocket-Key header")]
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of exactly 16 bytes (or is repeated).
    #[error("Sec-WebSocket-Key is not the base64 encoding of 16 bytes")]
    InvalidKey,
    /// The request has no `Sec-WebSocket-Version` header.
    #[error("the request has no Sec-WebSocket-Version header")]
    MissingVersion,
    /// `Sec-WebSocket-Version` is not 13 (answered with 426 Upgrade Required).
    #[error("unsupported Sec-WebSocket-Version {0:?}; this server speaks 13")]
    UnsupportedVersion(String),
    /// The upgrade request carries a body (`Content-Length` or `Transfer-Encoding`), whose
    /// bytes would be taken for WebSocket frames.
    #[error("the upgrade request has a body")]
    UnexpectedBody,
    /// The server's policy refused the request.
    #[error("the request was rejected with {}", .0.status())]
    Rejected(Rejection),
    /// The server's own negotiation went wrong (a subprotocol selector chose a protocol the
    /// client did not offer, or an extension factory answered with an unwritable element).
    /// Answered with 500.
    #[error("server negotiation failed: {0}")]
    ServerNegotiation(String),
}

/// Who a failed handshake is the fault of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// This side's caller: an invalid request to build, a misused handshake value, or this
    /// server's own negotiation.
    Caller,
    /// The peer broke the handshake's rules (a malformed or oversized head, a wrong accept
    /// key, an unoffered subprotocol or extension, a bad request, a closed connection).
    Peer,
    /// A refusal by rule, not a fault: the server answered a non-101/2xx status
    /// ([`UpgradeFailed`](HandshakeError::UpgradeFailed)), or our policy refused the
    /// request ([`Rejected`](HandshakeError::Rejected)); for a connect, also a server or
    /// proxy that does not offer what was asked (HTTP/2, a tunnel).
    Refusal,
    /// Neither side broke a rule: the way between them failed — name resolution, a
    /// refused or reset TCP connection, I/O — or a bound ran out (a slow network and a
    /// silent peer look the same from here). Never a handshake's own error: transports
    /// and connect paths report it (wintergreen-connect's `ConnectError::fault`).
    Network,
}

impl HandshakeError {
    /// Who is at fault: the caller, the peer, or neither (a refusal).
    pub fn fault(&self) -> Fault {
        match self {
            Self::InvalidUri(_)
            | Self::InvalidSubprotocol(_)
            | Self::InvalidExtensionOffer(_)
            | Self::ReservedHeader(_)
            | Self::InvalidRequestMethod { .. }
            | Self::ServerNegotiation(_) => Fault::Caller,
            Self::UpgradeFailed { .. } | Self::Rejected(_) => Fault::Refusal,
            _ => Fault::Peer,
        }
    }

    /// The status a server answers this error with: 426 for a wrong
    /// `Sec-WebSocket-Version`, 405 for a wrong method, the policy's status for
    /// [`Rejected`](Self::Rejected), 500 for [`ServerNegotiation`](Self::ServerNegotiation),
    /// 400 otherwise.
    pub fn rejection_status(&self) -> StatusCode {
        match self {
            Self::UnsupportedVersion(_) => StatusCode::UPGRADE_REQUIRED,
            Self::InvalidMethod { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Rejected(rejection) => rejection.status(),
            Self::ServerNegotiation(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The response a server sends for this error: the policy's own
    /// [`Rejection`] for [`Rejected`](Self::Rejected); otherwise
    /// [`rejection_status`](Self::rejection_status) with this error's message as a plain
    /// text body, plus `Sec-WebSocket-Version: 13` for a version problem (RFC 6455 §4.2.2).
    /// The message can quote what the peer sent (a method, a version value), so the body
    /// is cut at [`MAX_REJECTION_MESSAGE`] bytes: a rejection never echoes more than that.
    pub fn rejection(&self) -> Rejection {
        if let Self::Rejected(rejection) = self {
            return rejection.clone();
        }
        let mut rejection = Rejection::new(self.rejection_status())
            .with_header(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )
            .with_body(bounded_message(self));
        if matches!(self, Self::UnsupportedVersion(_) | Self::MissingVersion) {
            rejection =
                rejection.with_header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        if let Self::InvalidMethod { expected, .. } = self {
            // A method name is a token, so it is always a valid header value.
            if let Ok(allow) = HeaderValue::from_str(expected.as_str()) {
                rejection = rejection.with_header(ALLOW, allow);
            }
        }
        rejection
    }
}

/// The most bytes of an error message that a generated rejection's body carries.
pub const MAX_REJECTION_MESSAGE: usize = 256;

/// `err`'s message cut at [`MAX_REJECTION_MESSAGE`] bytes on a character boundary, and a
/// newline.
fn bounded_message(err: &HandshakeError) -> String {
    let mut message = err.to_string();
    if message.len() > MAX_REJECTION_MESSAGE {
        let mut end = MAX_REJECTION_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message.push('\n');
    message
}

/// A server's refusal: the status, extra header fields and body to answer with. The
/// transport adds `Content-Length` (and, for HTTP/1.1, `Connection: close`) itself.
///
/// One pointer wide, so `Result<(), Rejection>` stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(Box<RejectionParts>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct RejectionParts {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Rejection {
    /// A rejection with `status`, no extra headers and an empty body.
    pub fn new(status: StatusCode) -> Self {
        Self(Box::new(RejectionParts {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }))
    }

    /// Adds a header field (builder style).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.append(name, value);
        self
    }

    /// Sets the body (builder style).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.0.body = body.into();
        self
    }

    /// The response status, e.g. 403 Forbidden.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The extra header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The extra header fields, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.0.headers
    }

    /// The response body.
    pub fn body(&self) -> &Bytes {
        &self.0.body
    }
}

impl From<StatusCode> for Rejection {
    fn from(status: StatusCode) -> Self {
        Self::new(status)
    }
}

#[cfg(test)]
mod fault_tests {
    use super::*;

    #[test]
    fn errors_are_sorted_by_fault() {
        assert_eq!(
            HandshakeError::InvalidUri("x".into()).fault(),
            Fault::Caller
        );
        assert_eq!(HandshakeError::MissingAccept.fault(), Fault::Peer);
        assert_eq!(HandshakeError::MissingKey.fault(), Fault::Peer);
        let refused = HandshakeError::UpgradeFailed {
            status: StatusCode::FORBIDDEN,
            headers: Box::default(),
            body: Bytes::new(),
        };
        assert_eq!(refused.fault(), Fault::Refusal);
        let rejected = HandshakeError::Rejected(Rejection::new(StatusCode::FORBIDDEN));
        assert_eq!(rejected.fault(), Fault::Refusal);
    }
}
