//! Why a negotiation failed (RFC 7692 §7), typed.

use std::fmt;

use wintergreen_codec::{ExtensionCause, ExtensionError};

use crate::params::WindowBits;

/// A permessage-deflate offer or answer that breaks RFC 7692 §7, or that fits none of our
/// offers.
///
/// A client fails the handshake with it; a server declines the offer that caused it (and
/// tries the client's next one). Through the codec's traits it travels inside
/// [`ExtensionError::Negotiation`], typed (`cause().downcast_ref::<NegotiationError>()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The element is not `permessage-deflate`.
    WrongExtension(String),
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(&'static str),
    /// A parameter with a value it may not have, or without one it needs: a window size
    /// outside `8..=15` or not plain decimal, a value on a flag, or `client_max_window_bits`
    /// without a value in an answer.
    InvalidValue {
        /// The parameter.
        param: &'static str,
        /// The value as received (`None`: no value).
        value: Option<String>,
    },
    /// The server's answer fits none of the client's offers; one reason per offer, in the
    /// order they were made.
    NoMatchingOffer(Vec<Mismatch>),
    /// The client has no offer to match an answer against (deflate is off).
    NotOffered,
}

/// Why a server's answer does not fit one particular offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The offer asked for `server_no_context_takeover`; the answer lacks it.
    ServerNoContextTakeoverMissing,
    /// The offer limited the server's window; the answer does not confirm a limit.
    ServerMaxWindowBitsMissing {
        /// The offered limit.
        offered: WindowBits,
    },
    /// The answer's server window exceeds the offered limit.
    ServerMaxWindowBitsTooLarge {
        /// The offered limit.
        offered: WindowBits,
        /// The answered window.
        answered: WindowBits,
    },
    /// The answer sets `client_max_window_bits`, which the offer did not carry.
    ClientMaxWindowBitsNotOffered,
    /// The answer's client window exceeds the value the client offered.
    ClientMaxWindowBitsTooLarge {
        /// The offered limit.
        offered: WindowBits,
        /// The answered window.
        answered: WindowBits,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerNoContextTakeoverMissing => {
                f.write_str("server_no_context_takeover was requested but not answered")
            }
            Self::ServerMaxWindowBitsMissing { offered } => write!(
                f,
                "server_max_window_bits={offered} was requested but not answered"
            ),
            Self::ServerMaxWindowBitsTooLarge { offered, answered } => write!(
                f,
                "server_max_window_bits={answered} exceeds the offered {offered}"
            ),
            Self::ClientMaxWindowBitsNotOffered => {
                f.write_str("client_max_window_bits was not offered")
            }
            Self::ClientMaxWindowBitsTooLarge { offered, answered } => write!(
                f,
                "client_max_window_bits={answered} exceeds the offered {offered}"
            ),
        }
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongExtension(name) => write!(f, "extension {name:?} is not permessage-deflate"),
            Self::UnknownParameter(name) => {
                write!(f, "unknown permessage-deflate parameter {name:?}")
            }
            Self::DuplicateParameter(name) => {
                write!(f, "duplicate permessage-deflate parameter {name}")
            }
            Self::InvalidValue {
                param,
                value: Some(value),
            } => {
                write!(f, "invalid value {value:?} for {param}")
            }
            Self::InvalidValue { param, value: None } => write!(f, "{param} needs a value"),
            Self::NoMatchingOffer(reasons) => {
                f.write_str("the answer matches no permessage-deflate offer")?;
                for (i, reason) in reasons.iter().enumerate() {
                    write!(
                        f,
                        "{} offer {}: {reason}",
                        if i == 0 { ":" } else { ";" },
                        i + 1
                    )?;
                }
                Ok(())
            }
            Self::NotOffered => f.write_str("permessage-deflate was not offered"),
        }
    }
}

impl std::error::Error for NegotiationError {}

impl From<NegotiationError> for ExtensionError {
    fn from(err: NegotiationError) -> Self {
        Self::Negotiation(ExtensionCause::new(err))
    }
}

/// Why an incoming compressed message could not be inflated (RFC 7692 §7.2.2). The session
/// fails the connection with 1007 (invalid frame payload data, RFC 6455 §7.4.1). Through the
/// codec's traits it travels inside [`ExtensionError::InvalidData`], typed: a failed
/// connection's error leads to it through `source()`, or
/// `ExtensionError::cause().and_then(|c| c.downcast_ref::<InflateError>())`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// The message's DEFLATE data ends inside a block: even with `00 00 ff ff` put back
    /// (RFC 7692 §7.2.2), it neither ends at a block boundary nor ends the stream (a block
    /// with BFINAL set), so part of the message is missing.
    Truncated,
    /// The DEFLATE data is malformed (RFC 1951), with zlib's reason, e.g. "invalid distance
    /// too far back" or "invalid block type".
    Corrupt(&'static str),
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => {
                f.write_str("the compressed message ends inside a DEFLATE block (truncated)")
            }
            Self::Corrupt(reason) => write!(f, "inflate failed: {reason}"),
        }
    }
}

impl std::error::Error for InflateError {}

impl From<InflateError> for ExtensionError {
    fn from(err: InflateError) -> Self {
        Self::InvalidData(ExtensionCause::new(err))
    }
}
