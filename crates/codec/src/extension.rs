//! The extension traits (RFC 6455 §9): how permessage-deflate and friends plug in.
//!
//! An [`ExtensionFactory`] takes part in the opening handshake: it writes a client's offers
//! and judges the server's answer, or judges a client's offers on the server. What it
//! negotiates is an [`Extension`], which the [`Session`](crate::Session) drives: it owns
//! some RSV bits and transforms data-message payloads, one frame at a time, in both
//! directions. The codec supports per-message extensions: owned RSV bits may be set only on
//! the first frame of a data message; any other use is a protocol error.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use bytes::BytesMut;

use crate::close::CloseCode;
use crate::frame::{OpCode, Rsv};

/// One element of a `Sec-WebSocket-Extensions` header: a name and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionParams {
    /// The extension's token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<ExtensionParam>,
}

/// One extension parameter: `name` or `name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    /// The parameter's token.
    pub name: String,
    /// Its value, if any (unquoted).
    pub value: Option<String>,
}

impl ExtensionParams {
    /// An element with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push(ExtensionParam {
            name: name.into(),
            value,
        });
        self
    }
}

impl fmt::Display for ExtensionParams {
    /// Writes the element in header form: `name; a; b=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for param in &self.params {
            write!(f, "; {}", param.name)?;
            if let Some(value) = &param.value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

/// What a server-side factory agrees to: the answer to send and the extension itself.
pub type Accepted = (ExtensionParams, Box<dyn Extension>);

/// Negotiates one extension during the opening handshake. Shared by every connection made
/// with the same configuration.
pub trait ExtensionFactory: Send + Sync + fmt::Debug {
    /// The extension's token, e.g. `permessage-deflate`.
    fn name(&self) -> &str;

    /// Client: the offers to send, in order of preference (each becomes one element of
    /// `Sec-WebSocket-Extensions`).
    fn offers(&self) -> Vec<ExtensionParams>;

    /// Client: judges the server's answer (an element with this factory's name). An error
    /// fails the handshake.
    fn accept_response(
        &self,
        response: &ExtensionParams,
    ) -> Result<Box<dyn Extension>, ExtensionError>;

    /// Server: judges the client's offers for this extension, in the client's order.
    /// Returns the answer to send and the negotiated extension, or `None` to decline.
    fn accept_offers(&self, offers: &[ExtensionParams])
    -> Result<Option<Accepted>, ExtensionError>;
}

/// A negotiated extension, transforming data-message payloads for one connection.
pub trait Extension: Send + fmt::Debug {
    /// The extension's token.
    fn name(&self) -> &str;

    /// The RSV bits this extension owns.
    fn rsv(&self) -> Rsv;

    /// Outgoing: called at the start of each data message. `size_hint` is the whole
    /// payload's length when known. Returns the RSV bits for the message's first frame;
    /// [`Rsv::NONE`] leaves the message untouched (and [`encode`](Self::encode) is not
    /// called for it).
    fn encode_start(&mut self, opcode: OpCode, size_hint: Option<usize>) -> Rsv;

    /// Outgoing: transforms the next piece of the message, appending to `out`. `fin` marks
    /// the message's last piece.
    fn encode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError>;

    /// Incoming: called with the RSV bits of a data message's first frame (a subset of
    /// [`rsv`](Self::rsv)). Returns whether [`decode`](Self::decode) must transform it.
    fn decode_start(&mut self, rsv: Rsv) -> bool;

    /// Incoming: transforms the next frame's payload, appending to `out`, which may grow by
    /// at most `limit` bytes for this call: past that, return
    /// [`ExtensionError::MessageTooLarge`] without holding more than the limit in memory.
    /// `fin` marks the message's last frame.
    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ExtensionError>;
}

/// An extension's failure: in negotiation, or on a frame.
///
/// Each variant but [`MessageTooLarge`](Self::MessageTooLarge) carries the extension's own
/// error as an [`ExtensionCause`], kept typed: permessage-deflate's `NegotiationError` and
/// `InflateError`, for instance, are one [`ExtensionCause::downcast_ref`] away, and
/// [`source`](Error::source) leads to them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The peer's offer or answer broke the extension's negotiation rules.
    Negotiation(ExtensionCause),
    /// A transformed message would exceed the size limit (close code 1009).
    MessageTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The payload could not be transformed, e.g. corrupt compressed data (close code 1007,
    /// the peer's fault).
    InvalidData(ExtensionCause),
    /// The extension failed on its own side (close code 1011).
    Internal(ExtensionCause),
}

impl ExtensionError {
    /// The close code for failing a connection with this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::InvalidData(_) => CloseCode::INVALID_PAYLOAD,
            Self::Negotiation(_) => CloseCode::PROTOCOL_ERROR,
            Self::Internal(_) => CloseCode::INTERNAL_ERROR,
        }
    }

    /// The extension's own error, if this variant carries one.
    pub fn cause(&self) -> Option<&ExtensionCause> {
        match self {
            Self::Negotiation(cause) | Self::InvalidData(cause) | Self::Internal(cause) => {
                Some(cause)
            }
            Self::MessageTooLarge { .. } => None,
        }
    }
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Negotiation(cause) => write!(f, "negotiation failed: {cause}"),
            Self::MessageTooLarge { limit } => {
                write!(f, "transformed message exceeds the limit of {limit} bytes")
            }
            Self::InvalidData(cause) => write!(f, "invalid data: {cause}"),
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
        }
    }
}

impl Error for ExtensionError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause()
            .map(|cause| cause.get_ref() as &(dyn Error + 'static))
    }
}

/// An extension's own error inside an [`ExtensionError`], kept typed (shared, so the error
/// stays `Clone`).
///
/// Build it from any error type with [`new`](Self::new), or from a message (`String` or
/// `&str`) for a failure that has no type of its own. Two causes compare equal when their
/// texts are equal (an error type need not be `PartialEq`), which is what tests want.
#[derive(Clone)]
pub struct ExtensionCause(Arc<dyn Error + Send + Sync + 'static>);

impl ExtensionCause {
    /// Wraps the extension's error.
    pub fn new<E: Error + Send + Sync + 'static>(err: E) -> Self {
        Self(Arc::new(err))
    }

    /// The wrapped error.
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The wrapped error as `E`, if it is one (e.g. permessage-deflate's `InflateError`).
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl fmt::Debug for ExtensionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ExtensionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for ExtensionCause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for ExtensionCause {}

/// A failure described only by its text.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

impl From<String> for ExtensionCause {
    fn from(message: String) -> Self {
        Self::new(Message(message))
    }
}

impl From<&str> for ExtensionCause {
    fn from(message: &str) -> Self {
        Self::new(Message(message.to_owned()))
    }
}
