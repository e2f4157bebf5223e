//! The sans-IO core of wintergreen: WebSocket (RFC 6455) frames, masking, UTF-8 validation,
//! close codes, and the [`Session`] state machine, for both roles. No I/O, no async, no
//! runtime: bytes go in, events and bytes come out, and time is passed in by the caller.
//!
//! Most applications want the `wintergreen` facade crate, which drives this core over a
//! socket on tokio, smol or async-std; use this crate alone for a transport or runtime of
//! your own.
//!
//! - Pick [`Session`] for a whole connection after the opening handshake.
//! - Pick [`FrameDecoder`] and [`encode_frame`] for frames alone.
//! - Implement [`ExtensionFactory`] and [`Extension`] to add an extension such as
//!   permessage-deflate.
//!
//! Every limit has a documented default in [`Config`]; no input makes the session panic or
//! allocate without bound, and every protocol violation is a typed [`ProtocolError`] that
//! maps to the close code the RFC asks for.

#![deny(missing_docs)]

mod budget;
mod close;
mod config;
mod error;
mod extension;
#[allow(unsafe_code)]
mod fast;
mod frame;
mod message;
mod session;
mod stats;
mod utf8;

pub use budget::MessageBudget;
pub use close::{CloseCode, CloseFrame};
pub use config::{Config, KeepAlive, Role, TimerKind};
pub use error::{ConnectionError, ProtocolError, SendError};
pub use extension::{
    Accepted, Extension, ExtensionCause, ExtensionError, ExtensionFactory, ExtensionParam,
    ExtensionParams,
};
pub use fast::mask::{apply_mask, apply_mask_offset};
pub use fast::text::Utf8Bytes;
pub use frame::{Frame, FrameDecoder, FrameHeader, OpCode, Rsv, encode_frame};
pub use message::{DataKind, Fragment, Message};
pub use session::{Event, Session, State, ZERO_COPY_MIN};
pub use stats::{Compression, Stats};
pub use utf8::Utf8Error;
