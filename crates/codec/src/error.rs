//! Typed errors, split by who is at fault: the peer ([`ProtocolError`]), the connection's
//! end ([`ConnectionError`]) or the caller ([`SendError`]).

use std::fmt;

use crate::close::CloseCode;
use crate::config::TimerKind;
use crate::extension::ExtensionError;

/// The peer broke RFC 6455 (or a negotiated extension's rules, or one of our limits).
///
/// The session fails the connection: it queues a close frame with
/// [`close_code`](Self::close_code) and processes no more input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reserved opcode (§5.2).
    InvalidOpcode(u8),
    /// RSV bits that no negotiated extension claims, or claimed bits on a frame that may not
    /// carry them (a control frame or a continuation).
    ReservedBitsSet(u8),
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A control frame with a payload over 125 bytes (§5.5).
    ControlFrameTooLong(u64),
    /// A 64-bit payload length with its most significant bit set (§5.2).
    PayloadLengthOverflow,
    /// A client sent an unmasked frame (§5.1).
    UnmaskedFrameFromClient,
    /// A server sent a masked frame (§5.1).
    MaskedFrameFromServer,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was in progress (§5.4).
    ExpectedContinuation,
    /// A frame longer than the configured limit.
    FrameTooLarge {
        /// The frame's payload length.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A message longer than the configured limit.
    MessageTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A message would take the connection's shared [`MessageBudget`](crate::MessageBudget)
    /// past its limit: the messages being received on all the connection's WebSockets
    /// together hold too much (close code 1009, RFC 6455 §7.4.1).
    BudgetExceeded {
        /// The budget's limit, in bytes.
        limit: usize,
    },
    /// A message split into more frames than the configured limit.
    TooManyFragments {
        /// The limit.
        limit: usize,
    },
    /// A text message that is not UTF-8 (§8.1).
    InvalidUtf8,
    /// A close payload of one byte (§5.5.1).
    InvalidClosePayload,
    /// A close code that may not be sent on the wire (§7.4).
    InvalidCloseCode(u16),
    /// A close reason that is not UTF-8 (§5.5.1).
    InvalidCloseReason,
    /// A negotiated extension refused a frame.
    Extension(ExtensionError),
}

impl ProtocolError {
    /// The close code the session sends when it fails the connection for this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::FrameTooLarge { .. }
            | Self::MessageTooLarge { .. }
            | Self::BudgetExceeded { .. }
            | Self::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::InvalidUtf8 | Self::InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            Self::Extension(err) => err.close_code(),
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::ReservedBitsSet(bits) => {
                write!(
                    f,
                    "reserved bits {:#05b} set without an extension that allows them",
                    bits >> 4
                )
            }
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::ControlFrameTooLong(len) => {
                write!(
                    f,
                    "control frame payload of {len} bytes (at most 125 allowed)"
                )
            }
            Self::PayloadLengthOverflow => {
                f.write_str("64-bit payload length with the most significant bit set")
            }
            Self::UnmaskedFrameFromClient => f.write_str("unmasked frame from a client"),
            Self::MaskedFrameFromServer => f.write_str("masked frame from a server"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame with no message in progress")
            }
            Self::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            Self::FrameTooLarge { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the limit of {limit}")
            }
            Self::MessageTooLarge { limit } => {
                write!(f, "message exceeds the limit of {limit} bytes")
            }
            Self::BudgetExceeded { limit } => write!(
                f,
                "messages being received on this connection exceed its budget of {limit} bytes"
            ),
            Self::TooManyFragments { limit } => {
                write!(f, "message split into more than {limit} frames")
            }
            Self::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            Self::InvalidClosePayload => f.write_str("close frame with a 1-byte payload"),
            Self::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            Self::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            Self::Extension(err) => write!(f, "extension: {err}"),
        }
    }
}

impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Extension(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ExtensionError> for ProtocolError {
    fn from(err: ExtensionError) -> Self {
        Self::Extension(err)
    }
}

/// How a connection ended other than by a clean close handshake, as the session reports it
/// from [`Session::poll_event`](crate::Session::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol; the session sent a close with the error's code.
    Protocol(ProtocolError),
    /// The byte stream ended before the close handshake (close code 1006).
    AbnormalClosure,
    /// One of the session's timers fired and ended (or, for [`TimerKind::Idle`], began to
    /// close) the connection: the close handshake took too long, the peer went silent after
    /// a keep-alive ping, or no data crossed for the idle timeout.
    TimedOut(TimerKind),
}

impl ConnectionError {
    /// The close code that describes this end: the one we sent, or 1006.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::Protocol(err) => err.close_code(),
            Self::TimedOut(TimerKind::Idle) => CloseCode::GOING_AWAY,
            Self::AbnormalClosure | Self::TimedOut(_) => CloseCode::ABNORMAL,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(err) => write!(f, "protocol error: {err}"),
            Self::AbnormalClosure => f.write_str("connection closed without a close frame (1006)"),
            Self::TimedOut(TimerKind::Close) => {
                f.write_str("the close handshake did not finish in time")
            }
            Self::TimedOut(TimerKind::KeepAlive) => {
                f.write_str("keep-alive timeout: the peer went silent")
            }
            Self::TimedOut(_) => f.write_str("idle timeout: no data crossed in time"),
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ProtocolError> for ConnectionError {
    fn from(err: ProtocolError) -> Self {
        Self::Protocol(err)
    }
}

/// A send that the session refused; nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// We already sent a close frame (or failed the connection, e.g. on a keep-alive
    /// timeout): used after close.
    AlreadyClosed,
    /// The peer closed the connection: we answered its close frame, or it ended the
    /// transport without one.
    ClosedByPeer,
    /// A control frame's payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A close code that may not be sent (1004–1006, 1015, or outside the valid ranges).
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    CloseReasonTooLong(usize),
    /// A whole message while a caller-driven fragmented message is unfinished.
    FragmentedMessageInProgress,
    /// A fragment of a different kind than the message it continues.
    FragmentKindMismatch,
    /// The negotiated extension failed to transform the message.
    Extension(ExtensionError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyClosed => {
                f.write_str("the connection is closing or closed: used after close")
            }
            Self::ClosedByPeer => f.write_str("the peer closed the connection"),
            Self::ControlPayloadTooLong(len) => {
                write!(
                    f,
                    "control frame payload of {len} bytes (at most 125 allowed)"
                )
            }
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::CloseReasonTooLong(len) => {
                write!(f, "close reason of {len} bytes (at most 123 allowed)")
            }
            Self::FragmentedMessageInProgress => {
                f.write_str("a fragmented message is in progress; finish it first")
            }
            Self::FragmentKindMismatch => {
                f.write_str("fragment kind differs from the message in progress")
            }
            Self::Extension(err) => write!(f, "extension: {err}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Extension(err) => Some(err),
            _ => None,
        }
    }
}
