//! Driver settings, each with a documented default.

/// How a [`WebSocketStream`](crate::WebSocketStream) uses its byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Room reserved in the receive buffer before each read, in bytes. Default: 64 KiB.
    ///
    /// Keep-alive, the idle timeout and the bound on queued output live in the session's
    /// [`Config`](wintergreen_codec::Config) (`keepalive`, `idle_timeout`,
    /// `max_pending_output`). That one bound serves both directions:
    /// `futures_sink::Sink::poll_ready` waits while the session's output
    /// is at or over it (backpressure on sends), and the driver stops reading while output
    /// the peer provoked is over it.
    pub read_buffer_size: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            read_buffer_size: 64 << 10,
        }
    }
}

/// Keep-alive settings: they live in the session's configuration
/// ([`Config::keepalive`](wintergreen_codec::Config::keepalive)).
pub use wintergreen_codec::KeepAlive;
