//! What can go wrong on the HTTP/1.1 wire, by fault.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use wintergreen_handshake::{HandshakeError, Rejection};

/// A failed HTTP/1.1 upgrade.
///
/// Who is at fault:
/// - the peer's bytes are not HTTP/1.1 ([`Malformed`](Self::Malformed)) or overrun a
///   [`Limits`](crate::Limits) bound ([`HeadTooLarge`](Self::HeadTooLarge),
///   [`TooManyHeaders`](Self::TooManyHeaders),
///   [`TooManyInterimResponses`](Self::TooManyInterimResponses)), or the peer went away
///   ([`UnexpectedEof`](Self::UnexpectedEof));
/// - the messages are HTTP but the WebSocket rules refuse them, or the server refused the
///   upgrade, or the caller's request was invalid: [`Handshake`](Self::Handshake), whose
///   [`HandshakeError`] says which;
/// - the caller fed input after the result: [`Finished`](Self::Finished).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer's bytes are not a valid HTTP/1.1 message (RFC 9112).
    #[error("malformed HTTP/1.1 message: {0}")]
    Malformed(#[from] ParseError),
    /// A head (start line, header fields and the empty line, with any empty lines before
    /// it) exceeds [`max_head_bytes`](crate::Limits::max_head_bytes).
    #[error("the HTTP head exceeds the limit of {limit} bytes")]
    HeadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A head has more than [`max_headers`](crate::Limits::max_headers) header fields.
    #[error("the HTTP head has more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// Client: the server sent more than
    /// [`max_interim_responses`](crate::Limits::max_interim_responses) 1xx interim responses
    /// before its final one.
    #[error("the server sent more than {limit} interim (1xx) responses")]
    TooManyInterimResponses {
        /// The limit.
        limit: usize,
    },
    /// The peer closed the connection before the head was complete.
    #[error("the connection closed before the handshake completed")]
    UnexpectedEof,
    /// The WebSocket handshake rules refused the exchange (RFC 6455 §4), the server refused
    /// the upgrade ([`UpgradeFailed`](HandshakeError::UpgradeFailed)), or the caller's
    /// request could not be built.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// The handshake already produced its result; it takes no more input (API misuse).
    #[error("the handshake has already finished")]
    Finished,
}

/// How a peer's bytes break HTTP/1.1 (RFC 9112), named by the rule they break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The first bytes cannot begin an HTTP/1.x request-line (server) or status-line
    /// (client), RFC 9112 §3 and §4: a TLS ClientHello on a plain port, binary garbage.
    /// Found as soon as the offending byte arrives, without waiting for a whole head.
    #[error("the bytes cannot begin an HTTP/1.x start line")]
    NotHttp,
    /// A line ends in a CR that no LF follows (RFC 9112 §2.2).
    #[error("a bare CR in the head")]
    BareCr,
    /// The request method is not a token (RFC 9112 §3.1).
    #[error("invalid method token")]
    Method,
    /// The request-target has a byte not allowed there (RFC 9112 §3.2).
    #[error("invalid request-target")]
    RequestTarget,
    /// The HTTP-version is not HTTP/1.x (RFC 9112 §2.3); a request's must be `HTTP/1.0` or
    /// `HTTP/1.1`, while a response's higher minor version is read as HTTP/1.1
    /// (RFC 9110 §6.2).
    #[error("invalid or unsupported HTTP-version")]
    Version,
    /// The status-line's status code is not three digits from 100 to 999 (RFC 9112 §4,
    /// RFC 9110 §15), or the reason phrase has a control byte.
    #[error("invalid status-line")]
    Status,
    /// A header field name is not a token, is followed by whitespace before the colon
    /// (RFC 9112 §5.1), or a request's field line is folded (obs-fold, RFC 9112 §5.2).
    #[error("invalid header field name, whitespace before a colon, or a folded line")]
    HeaderName,
    /// A header field value has a byte not allowed there (RFC 9110 §5.5).
    #[error("invalid header field value")]
    HeaderValue,
    /// `Content-Length` is not one non-negative decimal number (repeated identical values
    /// are allowed), RFC 9112 §6.3 item 5 and RFC 9110 §8.6.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// The message has both `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3
    /// item 3: a sign of request smuggling or response splitting, handled as an error).
    #[error("both Transfer-Encoding and Content-Length")]
    TransferEncodingWithContentLength,
    /// An HTTP/1.0 message has `Transfer-Encoding`, whose framing is then faulty
    /// (RFC 9112 §6.1).
    #[error("Transfer-Encoding in an HTTP/1.0 message")]
    TransferEncodingInHttp10,
}

impl ParseError {
    pub(crate) fn from_httparse(err: httparse::Error) -> Self {
        match err {
            httparse::Error::HeaderName => Self::HeaderName,
            httparse::Error::HeaderValue => Self::HeaderValue,
            httparse::Error::NewLine => Self::BareCr,
            httparse::Error::Status => Self::Status,
            httparse::Error::Token => Self::Method,
            httparse::Error::Version => Self::Version,
            // TooManyHeaders is mapped by the caller, which knows the limit.
            _ => Self::NotHttp,
        }
    }
}

impl Error {
    /// The handshake error, if that is what this is.
    pub fn as_handshake(&self) -> Option<&HandshakeError> {
        match self {
            Self::Handshake(err) => Some(err),
            _ => None,
        }
    }

    /// The status a server answers this error with: 431 Request Header Fields Too Large
    /// for [`HeadTooLarge`](Self::HeadTooLarge) and [`TooManyHeaders`](Self::TooManyHeaders),
    /// the handshake's own status for [`Handshake`](Self::Handshake)
    /// ([`HandshakeError::rejection_status`]), 400 Bad Request otherwise.
    pub fn rejection_status(&self) -> StatusCode {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::Handshake(err) => err.rejection_status(),
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The response a server sends for this error: the handshake's own
    /// [`rejection`](HandshakeError::rejection) for [`Handshake`](Self::Handshake);
    /// otherwise [`rejection_status`](Self::rejection_status) with this error's message as
    /// a plain text body (these messages quote nothing the peer sent, so the body is short).
    pub fn rejection(&self) -> Rejection {
        if let Self::Handshake(err) = self {
            return err.rejection();
        }
        Rejection::new(self.rejection_status())
            .with_header(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )
            .with_body(format!("{self}\n"))
    }
}
