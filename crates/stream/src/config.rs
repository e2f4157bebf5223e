//! Driver settings, each with a documented default.

/// How a [`WebSocketStream`](crate::WebSocketStream) uses its byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Queued outgoing bytes above which [`Sink::poll_ready`](futures_sink::Sink::poll_ready)
    /// waits for the peer to take some: backpressure. Default: 128 KiB.
    pub max_write_buffer: usize,
    /// Room reserved in the receive buffer before each read. Default: 64 KiB.
    ///
    /// Keep-alive, the idle timeout and the bound on the output a peer provokes live in
    /// the session's [`Config`](wintergreen_codec::Config) (`keepalive`, `idle_timeout`,
    /// `max_pending_output`): the driver stops reading while the session's output is over
    /// that bound.
    pub read_buffer_size: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_write_buffer: 128 << 10,
            read_buffer_size: 64 << 10,
        }
    }
}

/// Keep-alive settings: they live in the session's configuration
/// ([`Config::keepalive`](wintergreen_codec::Config::keepalive)).
pub use wintergreen_codec::KeepAlive;
