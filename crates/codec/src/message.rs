//! Messages as the application sends and receives them.

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::fast::text::Utf8Bytes;

/// A whole WebSocket message, or a control frame.
///
/// Received payloads are zero-copy: a message that arrived in one frame is a slice of the
/// buffer it was read into (the async driver reads blocks of `read_buffer_size`, 64 KiB by
/// default), so while any message from a block is alive, the whole block stays allocated.
/// To keep many small messages for long (a history, a cache), copy them
/// (`Bytes::copy_from_slice(&data)`) and let the blocks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: valid UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the session answers it itself unless auto-pong is off.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: the peer's (when received) or ours (when sent). `None` has no status.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::Binary(data.into())
    }

    /// A ping with a payload of at most 125 bytes.
    pub fn ping(data: impl Into<Bytes>) -> Self {
        Self::Ping(data.into())
    }

    /// A pong with a payload of at most 125 bytes.
    pub fn pong(data: impl Into<Bytes>) -> Self {
        Self::Pong(data.into())
    }

    /// A close frame with a status code and a reason.
    pub fn close(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        Self::Close(Some(CloseFrame::new(code, reason)))
    }

    /// Whether this is a text or binary message.
    pub const fn is_data(&self) -> bool {
        matches!(self, Self::Text(_) | Self::Binary(_))
    }

    /// Whether this is a close frame.
    pub const fn is_close(&self) -> bool {
        matches!(self, Self::Close(_))
    }

    /// The payload's length in bytes (for a close: code and reason).
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) | Self::Ping(data) | Self::Pong(data) => data.len(),
            Self::Close(None) => 0,
            Self::Close(Some(frame)) => 2 + frame.reason.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as bytes (a close frame gives its reason).
    pub fn into_data(self) -> Bytes {
        match self {
            Self::Text(text) => text.into_bytes(),
            Self::Binary(data) | Self::Ping(data) | Self::Pong(data) => data,
            Self::Close(None) => Bytes::new(),
            Self::Close(Some(frame)) => frame.reason.into_bytes(),
        }
    }

    /// The text of a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text.into())
    }
}

impl From<&'static str> for Message {
    fn from(text: &'static str) -> Self {
        Self::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::Binary(data.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

/// The kind of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Text: the whole message is UTF-8.
    Text,
    /// Binary.
    Binary,
}

impl DataKind {
    /// The opcode of the message's first frame.
    pub const fn opcode(self) -> crate::OpCode {
        match self {
            Self::Text => crate::OpCode::Text,
            Self::Binary => crate::OpCode::Binary,
        }
    }
}

/// A piece of a data message, yielded in streaming mode as frames arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The message's kind.
    pub kind: DataKind,
    /// This piece's payload (after any extension, e.g. decompressed). For text, the bytes
    /// validated so far are UTF-8 but a piece may end inside a code point.
    pub data: Bytes,
    /// Whether this is the message's first piece.
    pub first: bool,
    /// Whether this is the message's last piece.
    pub fin: bool,
}
