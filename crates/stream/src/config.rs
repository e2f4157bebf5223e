//! Driver settings, each with a documented default.

use std::time::Duration;

/// How a [`WebSocketStream`](crate::WebSocketStream) uses its byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Queued outgoing bytes above which [`Sink::poll_ready`](futures_sink::Sink::poll_ready)
    /// waits for the peer to take some: backpressure. Default: 128 KiB.
    pub max_write_buffer: usize,
    /// Room reserved in the receive buffer before each read. Default: 64 KiB.
    pub read_buffer_size: usize,
    /// Send pings when idle and give up on a silent peer. Default: off.
    pub keepalive: Option<KeepAlive>,
    /// Yield the pongs that answer the keep-alive's own pings as [`Message::Pong`](crate::Message)
    /// too. Default: off (they are the driver's business, not the application's).
    pub yield_keepalive_pongs: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_write_buffer: 128 << 10,
            read_buffer_size: 64 << 10,
            keepalive: None,
            yield_keepalive_pongs: false,
        }
    }
}

/// Keep-alive pings: one every `interval`; if nothing at all arrives from the peer for
/// `interval + timeout`, the stream ends with [`Error::KeepAliveTimeout`](crate::Error).
///
/// Keep-alive needs a [`Runtime`](crate::Runtime) and runs while the stream (or its reader
/// half) is being polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Time between pings.
    pub interval: Duration,
    /// Grace after a ping for the peer to show it is alive.
    pub timeout: Duration,
}

impl KeepAlive {
    /// Pings every `interval`, waiting `timeout` more for a sign of life.
    pub const fn new(interval: Duration, timeout: Duration) -> Self {
        Self { interval, timeout }
    }
}
