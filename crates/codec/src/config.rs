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
///
/// A timeout too large to add to an [`Instant`](std::time::Instant) never fires.
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
    ///
    /// # Worst case per connection
    ///
    /// What a peer can make a session hold for one unfinished message is this limit plus
    /// one frame in the receive buffer ([`max_frame_size`](Self::max_frame_size)): at the
    /// defaults 64 + 16 = 80 MiB. With permessage-deflate the peer needs to send only a
    /// little of it (zeros compress about 1,000:1, so some 64 KiB can hold 64 MiB), hence
    /// count every connection at the worst case: N HTTP/1.1 connections may hold
    /// N × 80 MiB (10,000 connections: 800 GiB if all of them try). Over HTTP/2 all the
    /// WebSockets of one connection share one
    /// [`MessageBudget`](crate::MessageBudget), by default of the same 80 MiB, so an
    /// HTTP/2 connection holds no more than an HTTP/1.1 one however many streams it opens.
    /// A server that must survive N hostile clients at once sizes this limit and
    /// `max_frame_size` for it: at 1 MiB each, 10,000 connections hold at most
    /// 10,000 × 2 MiB = 20 GiB. Fixed costs per connection come on top (receive headroom
    /// of 128 KiB while a long frame arrives, queued output up to
    /// [`max_pending_output`](Self::max_pending_output), an extension's state).
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
    /// How long to wait for the peer's close frame after sending ours, and then for the
    /// peer's end of the transport: a client waits for the server to close the connection
    /// after the close handshake (RFC 6455 §7.1.1), and a server, having ended its write
    /// half first, reads on until the client ends its own (see
    /// [`Session::should_end_write`](crate::Session::should_end_write)).
    /// Default: 10 s. Expiry: [`TimerKind::Close`] (reported when we started the close),
    /// the session closed, and output the peer has not taken dropped: the connection is to
    /// be dropped then, so nothing waits on a peer that does not read.
    pub close_timeout: Duration,
    /// Keep-alive pings (RFC 6455 §5.5.2) and the silence timeout that fails a dead
    /// connection. Default: off.
    pub keepalive: Option<KeepAlive>,
    /// Start the close handshake (status 1001, RFC 6455 §7.4.1) when no data message has
    /// been received or sent for this long. Pings and pongs do not count. Default: off.
    /// Expiry: [`TimerKind::Idle`].
    pub idle_timeout: Option<Duration>,
    /// Yield the pongs that answer the session's own keep-alive pings as
    /// [`Message::Pong`](crate::Message::Pong). Default: off (they are consumed silently;
    /// other pongs are always yielded).
    pub yield_keepalive_pongs: bool,
    /// The one bound on queued output, in bytes. Default: 128 KiB.
    ///
    /// At or above it, the session stops adding output that the peer provokes, and
    /// [`Session::wants_read`](crate::Session::wants_read) turns false when that output is
    /// the peer's doing. A driver also waits for the transport to take some output before
    /// it queues another message of the application's (backpressure on sends); the async
    /// driver's `Sink::poll_ready` does.
    ///
    /// While over the limit, pings are answered by one pong kept aside for the most recent
    /// ping (RFC 6455 §5.5.3 allows answering only that one), queued once the output drains
    /// below the limit. What the peer can make us queue is therefore at most this limit plus
    /// one control frame (131 bytes) and one close frame, whatever it sends.
    pub max_pending_output: usize,
    /// Seed for the generator of mask keys (RFC 6455 §5.3), for reproducible output in tests
    /// and fuzz replays: the session then owns a generator seeded with it. Default: `None`,
    /// each key drawn from the thread's CSPRNG (rand's `ThreadRng`: ChaCha, seeded from the
    /// operating system and reseeded periodically), so a client session holds no generator.
    /// Never set it in production: a predictable mask defeats its purpose.
    pub mask_seed: Option<u64>,
}

/// Keep-alive (RFC 6455 §5.5.2): after [`interval`](Self::interval) without a byte from the
/// peer the session sends a ping; if nothing at all arrives within
/// [`timeout`](Self::timeout) after it, the connection fails with
/// [`TimerKind::KeepAlive`]. Any byte received counts as a sign of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Silence from the peer after which a ping is sent.
    pub interval: Duration,
    /// Grace after the ping for the peer to show it is alive.
    pub timeout: Duration,
}

impl KeepAlive {
    /// Pings after `interval` of silence, waiting `timeout` more for a sign of life.
    pub const fn new(interval: Duration, timeout: Duration) -> Self {
        Self { interval, timeout }
    }
}

/// Which of the session's timers fired (see [`Session::handle_timeout`](crate::Session::handle_timeout)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimerKind {
    /// The close handshake did not finish within [`Config::close_timeout`].
    Close,
    /// The peer stayed silent after a keep-alive ping ([`Config::keepalive`]).
    KeepAlive,
    /// No data message crossed for [`Config::idle_timeout`].
    Idle,
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
    /// Default [`max_pending_output`](Self::max_pending_output): 128 KiB.
    pub const DEFAULT_MAX_PENDING_OUTPUT: usize = 128 << 10;
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
            keepalive: None,
            idle_timeout: None,
            yield_keepalive_pongs: false,
            max_pending_output: Self::DEFAULT_MAX_PENDING_OUTPUT,
            mask_seed: None,
        }
    }
}
