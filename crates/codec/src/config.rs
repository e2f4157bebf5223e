//! Session configuration: limits and behaviour, each with a documented default.

use std::time::Duration;

/// Which end of the connection a session is (RFC 6455 §5.1: clients mask, servers don't).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection: masks every frame, rejects masked frames.
    Client,
    /// The end that accepted it: requires masked frames, sends unmasked ones.
    Server,
}

/// How a [`Session`](crate::Session) behaves. Build it from [`Config::default`] and set the
/// fields you need; new fields will get defaults, so construction stays source-compatible.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted, in bytes. Default: 16 MiB.
    ///
    /// A frame's header reserves receive-buffer room for its whole payload, so this is
    /// also the most one frame makes a session allocate.
    pub max_frame_size: usize,
    /// Largest message accepted (after any extension, e.g. decompressed), in bytes.
    /// Default: 64 MiB.
    pub max_message_size: usize,
    /// Most frames one message may be split into. Default: 1 048 576 (bounds the work spent
    /// on a stream of empty continuation frames).
    pub max_fragments: usize,
    /// Answer each ping with a pong carrying the same payload. Default: on.
    pub auto_pong: bool,
    /// Yield data messages piece by piece, as [`Event::Fragment`](crate::Event::Fragment),
    /// instead of whole. Default: off.
    pub streaming: bool,
    /// Split outgoing messages into frames of at most this many payload bytes.
    /// Default: `usize::MAX` (one frame per message).
    pub max_send_frame_size: usize,
    /// How long to wait for the peer's close frame after sending ours, and (as a client) for
    /// the server to close the connection after the close handshake. Default: 10 s.
    pub close_timeout: Duration,
}

impl Config {
    /// Default [`max_frame_size`](Self::max_frame_size): 16 MiB.
    pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 << 20;
    /// Default [`max_message_size`](Self::max_message_size): 64 MiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
    /// Default [`max_fragments`](Self::max_fragments).
    pub const DEFAULT_MAX_FRAGMENTS: usize = 1 << 20;
    /// Default [`close_timeout`](Self::close_timeout): 10 s.
    pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: Self::DEFAULT_MAX_FRAME_SIZE,
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            max_fragments: Self::DEFAULT_MAX_FRAGMENTS,
            auto_pong: true,
            streaming: false,
            max_send_frame_size: usize::MAX,
            close_timeout: Self::DEFAULT_CLOSE_TIMEOUT,
        }
    }
}
