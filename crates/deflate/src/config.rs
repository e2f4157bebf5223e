//! What to offer, what to accept, and how hard to compress.

use crate::params::{DeflateOffer, WindowBits};

/// How permessage-deflate is negotiated and run, for both roles. Build it from
/// [`DeflateConfig::default`] and set the fields you need; new fields will get defaults.
///
/// ```
/// use wintergreen_deflate::{DeflateConfig, DeflateOffer, WindowBits};
///
/// let mut config = DeflateConfig::default();
/// config.level = 6;
/// config.threshold = 64;
/// config.offers = vec![
///     // Preferred: small windows and no context takeover, for a memory-tight client...
///     DeflateOffer::new()
///         .client_no_context_takeover(true)
///         .server_no_context_takeover(true)
///         .server_max_window_bits(WindowBits::new(10))
///         .client_max_window_bits(WindowBits::new(10).unwrap()),
///     // ...else whatever the server likes.
///     DeflateOffer::new().client_max_window_bits_supported(),
/// ];
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// zlib compression level, 0 (store only) to 9 (smallest output, slowest); above 9
    /// means 9. Default: [`DEFAULT_LEVEL`](Self::DEFAULT_LEVEL).
    pub level: u32,
    /// Messages whose whole size is known (every message but caller-fragmented ones) and is
    /// below this many bytes are sent uncompressed, with RSV1 clear, and never touch the
    /// compression context. `0` compresses everything. Default:
    /// [`DEFAULT_THRESHOLD`](Self::DEFAULT_THRESHOLD).
    pub threshold: usize,
    /// Client: the offers, in order of preference. Empty: deflate is not offered.
    /// Default: one offer, `permessage-deflate; client_max_window_bits`
    /// ([`DeflateConfig::default_offer`]).
    pub offers: Vec<DeflateOffer>,
    /// Server: which offers to accept and what to answer.
    pub server: ServerPolicy,
}

impl DeflateConfig {
    /// Default [`level`](Self::level): 1, zlib-rs's fastest real compression (its "quick"
    /// strategy). On this crate's benchmark (JSON messages of 128 B to 16 KiB, context
    /// takeover) a round trip runs 5–6× faster than at level 6, and the output is 18–56%
    /// larger; see the crate docs.
    pub const DEFAULT_LEVEL: u32 = 1;

    /// Default [`threshold`](Self::threshold): 8 bytes. Measured at level 1: messages of 1
    /// to 3 bytes always grow (to 3–5 bytes); at 4 to 7 bytes the best case, a message that
    /// repeats earlier traffic, saves 0 to 3 bytes and anything else grows by about 2. From
    /// 8 bytes on, context takeover pays on average (an 8-byte message with varying content
    /// averages 4.8 bytes), and any message that repeats earlier traffic shrinks to about 4.
    pub const DEFAULT_THRESHOLD: usize = 8;

    /// The client's default offer: `permessage-deflate; client_max_window_bits`. It lets the
    /// server pick our window (browsers offer the same) and leaves the server's at 32 KiB
    /// with context takeover, which compresses best.
    pub const fn default_offer() -> DeflateOffer {
        DeflateOffer::new().client_max_window_bits_supported()
    }

    /// The level as zlib takes it.
    pub(crate) fn zlib_level(&self) -> u32 {
        self.level.min(9)
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            level: Self::DEFAULT_LEVEL,
            threshold: Self::DEFAULT_THRESHOLD,
            offers: vec![Self::default_offer()],
            server: ServerPolicy::default(),
        }
    }
}

/// A server's rules for accepting a client's offers (RFC 7692 §7.1).
///
/// The server accepts the first of the client's offers that is well-formed (offers with
/// unknown or repeated parameters or bad values are declined, per RFC 7692 §7) and answers
/// with the parameters below, combined with what the offer demands. Every well-formed offer
/// can be honoured, whatever it asks for, so a client that offers deflate at all gets it
/// unless all its offers are malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ServerPolicy {
    /// Always reset our compression context after each message (answer
    /// `server_no_context_takeover`), even when the client did not ask. It compresses
    /// worse and saves us no memory (zlib-rs keeps its state allocated); it helps clients
    /// that free their decompressor between messages. Default: off.
    pub server_no_context_takeover: bool,
    /// Ask clients to reset their context after each message (answer
    /// `client_no_context_takeover`). Default: off.
    pub client_no_context_takeover: bool,
    /// The largest window we compress with. We answer `server_max_window_bits` when this
    /// or the client's limit is below 15 (and always when the client sent a limit). Smaller
    /// windows shrink our compressor (see the crate docs' memory table). Default: 15.
    pub server_max_window_bits: WindowBits,
    /// The largest window we ask clients to compress with, when their offer lets us (it
    /// carries `client_max_window_bits`). Offers without the parameter are accepted all the
    /// same: the client then uses up to 15 bits, which our decompressor handles. A smaller
    /// window shrinks only the receiver's copy of the client's last window (2<sup>bits</sup>
    /// bytes, kept for streams that end with a BFINAL block); zlib-rs allocates a 32 KiB
    /// window whatever the size. Default: 15.
    pub client_max_window_bits: WindowBits,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::MAX,
        }
    }
}
