//! Connection-level HTTP/2 settings, each with a documented default.

use std::time::Duration;

/// How an HTTP/2 connection is set up, for either role. Build it from
/// [`Http2Config::default`] and set the fields you need; new fields will get defaults.
///
/// Per-WebSocket settings (subprotocols, extensions, session limits, the handshake timeout)
/// stay in [`ClientConfig`](wintergreen_http1::ClientConfig),
/// [`ServerConfig`](wintergreen_http1::ServerConfig) and
/// [`StreamConfig`](wintergreen_stream::StreamConfig), shared with HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Http2Config {
    /// Client: how long to wait for the server's first SETTINGS frame (which says whether
    /// extended CONNECT is enabled). Server: how long the client may take to send its
    /// connection preface. Default: 10 s.
    pub settings_timeout: Duration,
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: how much each stream's peer may send before we
    /// release capacity (as the application reads). Default: 65 535, the protocol default.
    pub initial_stream_window_size: u32,
    /// The connection's receive window, shared by all streams (RFC 9113 §6.9.2; announced
    /// with a WINDOW_UPDATE on stream 0 right after the preface). Default: 1 MiB, sixteen
    /// streams' worth of [`initial_stream_window_size`](Self::initial_stream_window_size).
    ///
    /// Why not the protocol's 65 535: with several WebSockets busy on one connection, one
    /// stream window each fills the connection window and every sender waits a round trip
    /// for WINDOW_UPDATE (`cargo xtask bench h2`: 10 WebSockets echoing 16 KiB messages ran
    /// at 0.18–0.25× HTTP/1.1 under 65 535 in quick runs, 0.35× under 1 MiB with 64 KiB
    /// frames in a full run).
    ///
    /// Memory: the window is a bound, not an allocation (an idle connection holds none of
    /// it). A peer can make one connection hold at most this many received, unread DATA
    /// bytes in h2's buffers (and at most `initial_stream_window_size` per stream): 1 MiB
    /// per connection. Chopped into tiny DATA frames, the window also costs h2's per-frame
    /// bookkeeping: at most window / 8 frames (the default
    /// [`data_frame_budget`](Self::data_frame_budget)), 131 072 frames; at an estimated 100 bytes of
    /// bookkeeping each (h2's queue entry and `Bytes` handle; not measured), about 13 MiB
    /// per connection at worst (0.8 MiB under 65 535). Both sit
    /// on top of [`max_buffered_message_bytes`](Self::max_buffered_message_bytes) (80 MiB
    /// per connection by default, the larger term). Lower it for servers with very many
    /// connections and little memory; 65 535 is the least the protocol allows.
    pub initial_connection_window_size: u32,
    /// `SETTINGS_MAX_FRAME_SIZE`: the largest frame payload we accept (RFC 9113 §6.5.2;
    /// 16 384 to 16 777 215). Default: 64 KiB.
    ///
    /// Why above the protocol's 16 384: a WebSocket frame of 16 KiB plus its header is
    /// 16 388 bytes, which a peer limited to 16 384 must send as two DATA frames, the
    /// second of 4 bytes (measured: 1.63 `writev` per 16 KiB message under the protocol's
    /// defaults, 1.05 under these; small frames also count against h2's
    /// [`data_frame_budget`](Self::data_frame_budget)).
    /// Memory: h2 reads a whole frame before handing it on, so one connection's read buffer
    /// may grow to one frame (64 KiB) while it arrives; DATA frames are further bounded by
    /// the stream window.
    pub max_frame_size: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`: the largest header list we accept (RFC 9113
    /// accounting: name + value + 32 per field). Default: 64 KiB.
    pub max_header_list_size: u32,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` we announce. A server accepts at most this many
    /// streams (WebSockets and other requests) at once. Default: 256.
    pub max_concurrent_streams: u32,
    /// Most bytes queued for sending on one stream: a WebSocket's writes wait (backpressure)
    /// once this much is queued or the peer's flow-control window is used up.
    /// Default: 256 KiB.
    pub max_send_buffer_size: usize,
    /// h2's budget for buffered small DATA frames (payloads under 256 bytes cost
    /// `256 - len` each until the application reads them); a peer that exceeds it gets
    /// GOAWAY `ENHANCE_YOUR_CALM`, which ends every stream of the connection. h2's own
    /// default (about 133 buffered 64-byte frames) is too small for WebSockets: a peer that
    /// sends many small messages, or chops a large one into small DATA frames, to a reader
    /// that is briefly behind trips it. `None` (the default) sizes it to the connection
    /// window: 32 × [`initial_connection_window_size`](Self::initial_connection_window_size),
    /// enough to buffer a whole window in frames of 8 bytes or more (at most window / 8
    /// small frames are ever buffered).
    pub data_frame_budget: Option<usize>,
    /// Client: when a WebSocket is dropped before the server ended its stream, how long the
    /// connection keeps the stream (discarding what arrives) so that the data written before
    /// the drop, such as a close frame, is still delivered; then the stream is reset.
    /// Default: 5 s.
    pub linger: Duration,
    /// Server: accepted WebSockets (and handed-back requests) waiting for
    /// [`Http2Acceptor::next`](crate::Http2Acceptor::next); past it, new ones are answered
    /// 503 Service Unavailable. Default: 256, as many as [`max_concurrent_streams`](Self::max_concurrent_streams)
    /// lets a client open at once, so a burst within that limit is never refused.
    pub accept_backlog: usize,
    /// Server: what to do with requests that are not extended CONNECT for `websocket`.
    /// Default: [`OtherRequests::Reject`].
    pub other_requests: OtherRequests,
    /// Server: how long a new connection may go, from the start of the accept, without
    /// completing an extended CONNECT (or a handed-back request); past it the connection
    /// is closed with GOAWAY, whatever the client sent meanwhile (only the preface and
    /// SETTINGS, half a header block, nothing). This is HTTP/1.1's handshake timeout over
    /// HTTP/2; wintergreen-connect's `accept` sets it from `ServerOptions`' handshake
    /// timeout. Default: 10 s.
    pub handshake_timeout: Duration,
    /// Server: once a connection has served a request, how long it may stay without an
    /// open stream before it is closed with GOAWAY (RFC 9113 §6.8), so that abandoned
    /// connections give back their descriptor and buffers. `None` keeps idle connections
    /// open for as long as the client does. Default: 60 s — longer than the gap between a
    /// client's WebSockets in normal use, short enough that 10,000 abandoned connections
    /// are gone within a minute.
    pub idle_timeout: Option<Duration>,
    /// Client: how long opening a WebSocket may wait for a free stream when the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` are all in use (RFC 9113 §5.1.2); past it the
    /// open fails with [`Error::StreamLimit`](crate::Error::StreamLimit). The wait also ends
    /// at the open's own timeout, whichever comes first. Default: 10 s.
    pub stream_wait_timeout: Duration,
    /// Most bytes of received, not yet delivered messages that all the WebSockets of one
    /// connection may hold together (one [`MessageBudget`](wintergreen_codec::MessageBudget)
    /// per connection, in both roles): each WebSocket's unfinished message (inflated, with
    /// permessage-deflate) plus the announced payload of the frame it is receiving. A
    /// message that would take the connection past it fails that WebSocket alone with
    /// close code 1009 (Message Too Big, RFC 6455 §7.4.1); the connection's other
    /// WebSockets go on.
    ///
    /// Default: 80 MiB, the session's default `max_message_size` (64 MiB) plus its default
    /// `max_frame_size` (16 MiB): what one HTTP/1.1 WebSocket can make a server hold at
    /// worst (an unfinished message of 64 MiB and the next frame's payload), so that an
    /// HTTP/2 connection costs no more than an HTTP/1.1 one however many streams it opens.
    /// Without it, 256 streams × 64 MiB = 16 GiB per connection (16 streams were measured
    /// at 1.0 GiB). Worst case for N connections, either version: N × 80 MiB of message
    /// bytes (plus fixed per-connection buffers: h2's windows, the driver's read buffer,
    /// deflate's window). Set it at least as large as the sessions' `max_message_size`, or
    /// messages that size fail with 1009 even alone.
    pub max_buffered_message_bytes: usize,
}

impl Http2Config {
    /// Default [`settings_timeout`](Self::settings_timeout): 10 s.
    pub const DEFAULT_SETTINGS_TIMEOUT: Duration = Duration::from_secs(10);
    /// The protocol's default window, 65 535 bytes: the default
    /// [`initial_stream_window_size`](Self::initial_stream_window_size).
    pub const DEFAULT_WINDOW_SIZE: u32 = 65_535;
    /// Default [`initial_connection_window_size`](Self::initial_connection_window_size):
    /// 1 MiB.
    pub const DEFAULT_CONNECTION_WINDOW_SIZE: u32 = 1 << 20;
    /// Default [`max_frame_size`](Self::max_frame_size): 64 KiB.
    pub const DEFAULT_MAX_FRAME_SIZE: u32 = 64 << 10;
    /// Default [`max_header_list_size`](Self::max_header_list_size): 64 KiB.
    pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 64 << 10;
    /// Default [`max_concurrent_streams`](Self::max_concurrent_streams): 256.
    pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 256;
    /// Default [`max_send_buffer_size`](Self::max_send_buffer_size): 256 KiB.
    pub const DEFAULT_MAX_SEND_BUFFER_SIZE: usize = 256 << 10;
    /// Default [`handshake_timeout`](Self::handshake_timeout): 10 s.
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default [`idle_timeout`](Self::idle_timeout): 60 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default [`stream_wait_timeout`](Self::stream_wait_timeout): 10 s.
    pub const DEFAULT_STREAM_WAIT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default [`max_buffered_message_bytes`](Self::max_buffered_message_bytes): 80 MiB,
    /// the session's default message plus frame limits.
    pub const DEFAULT_MAX_BUFFERED_MESSAGE_BYTES: usize =
        wintergreen_codec::Config::DEFAULT_MAX_MESSAGE_SIZE
            + wintergreen_codec::Config::DEFAULT_MAX_FRAME_SIZE;
    /// Default [`linger`](Self::linger): 5 s.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(5);
    /// Default [`accept_backlog`](Self::accept_backlog): 256.
    pub const DEFAULT_ACCEPT_BACKLOG: usize = 256;
}

impl Http2Config {
    /// The DATA frame budget in force: [`data_frame_budget`](Self::data_frame_budget), or
    /// its default.
    pub fn effective_data_frame_budget(&self) -> usize {
        self.data_frame_budget.unwrap_or_else(|| {
            32 * self
                .initial_connection_window_size
                .max(Self::DEFAULT_WINDOW_SIZE) as usize
        })
    }
}

impl Default for Http2Config {
    fn default() -> Self {
        Self {
            settings_timeout: Self::DEFAULT_SETTINGS_TIMEOUT,
            initial_stream_window_size: Self::DEFAULT_WINDOW_SIZE,
            initial_connection_window_size: Self::DEFAULT_CONNECTION_WINDOW_SIZE,
            max_frame_size: Self::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: Self::DEFAULT_MAX_HEADER_LIST_SIZE,
            max_concurrent_streams: Self::DEFAULT_MAX_CONCURRENT_STREAMS,
            max_send_buffer_size: Self::DEFAULT_MAX_SEND_BUFFER_SIZE,
            data_frame_budget: None,
            linger: Self::DEFAULT_LINGER,
            accept_backlog: Self::DEFAULT_ACCEPT_BACKLOG,
            other_requests: OtherRequests::Reject,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
            stream_wait_timeout: Self::DEFAULT_STREAM_WAIT_TIMEOUT,
            max_buffered_message_bytes: Self::DEFAULT_MAX_BUFFERED_MESSAGE_BYTES,
        }
    }
}

/// What a server does with a request that is not an extended CONNECT for `websocket`
/// (a plain GET, a CONNECT for another protocol, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OtherRequests {
    /// Answer 400 Bad Request, as the HTTP/1.1 server does for a request without
    /// `Upgrade: websocket`.
    #[default]
    Reject,
    /// Hand it to the application as [`Incoming::Request`](crate::Incoming::Request), with
    /// h2's request body and response handle, to answer as it likes.
    HandBack,
}

/// Applies the settings both roles announce to an h2 client or server builder (two types
/// with the same setters), once.
macro_rules! apply_settings {
    ($builder:expr, $config:expr) => {{
        let config: &$crate::config::Http2Config = $config;
        $builder
            .initial_window_size(config.initial_stream_window_size)
            .initial_connection_window_size(config.initial_connection_window_size)
            .max_frame_size(config.max_frame_size)
            .max_header_list_size(config.max_header_list_size)
            .max_concurrent_streams(config.max_concurrent_streams)
            .max_send_buffer_size(config.max_send_buffer_size)
            .data_frame_budget(config.effective_data_frame_budget());
    }};
}
pub(crate) use apply_settings;
