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
    /// zlib memory level, 1 to 9 (above 9 means 9), or 0 to choose by [`level`](Self::level)
    /// (1 at level 1, 6 at the others). The compressor's symbol buffers take
    /// 7 × 2<sup>mem_level+6</sup> bytes (112 KiB at zlib's usual 8, 28 KiB at 6, 0.9 KiB at
    /// 1), and a compressed block holds at most 2<sup>mem_level+6</sup> symbols, so a low
    /// memory level splits large messages into more blocks, each with its own Huffman
    /// header. Level 1 (zlib-rs's "quick" strategy) writes only fixed-Huffman blocks, which
    /// have no header to repeat: memory level 1 compresses there exactly as 8 does. Default:
    /// [`DEFAULT_MEM_LEVEL`](Self::DEFAULT_MEM_LEVEL).
    pub mem_level: u8,
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

    /// Default [`mem_level`](Self::mem_level): 0, chosen by level. Measured on this crate's
    /// benchmark (JSON messages of 128 B, 1 KiB and 16 KiB, with and without context
    /// takeover, windows of 11, 13 and 15 bits): at level 1 every memory level from 1 to 8
    /// gives the same output to four digits; at level 6, 6 gives what 8 gives and 5 or less
    /// compresses 16 KiB messages worse. It saves 111 KiB of each compressor at level 1
    /// and 84 KiB at the other levels against zlib's usual 8.
    pub const DEFAULT_MEM_LEVEL: u8 = 0;

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
    pub(crate) fn zlib_level(&self) -> u8 {
        // At most 9, so it fits.
        u8::try_from(self.level.min(9)).unwrap_or(9)
    }

    /// The memory level as zlib takes it.
    pub(crate) fn zlib_mem_level(&self) -> u8 {
        match (self.mem_level, self.zlib_level()) {
            (0, 1) => 1,
            (0, _) => 6,
            (mem_level, _) => mem_level.min(9),
        }
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            level: Self::DEFAULT_LEVEL,
            mem_level: Self::DEFAULT_MEM_LEVEL,
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
    /// `server_no_context_takeover`, which RFC 7692 §7.1.1.1 lets a server add unasked),
    /// even when the client did not ask. Our compressor then lives only while a message is
    /// compressed and is shared between connections through a per-thread pool: an idle
    /// connection holds no compressor (instead of 134–260 KiB), at the cost of compression
    /// ratio on small messages, which can no longer refer back to earlier ones (see the
    /// crate docs' table). Default: off; [`ServerPolicy::shared`] turns it on.
    pub server_no_context_takeover: bool,
    /// Ask clients to reset their context after each message (answer
    /// `client_no_context_takeover`, which RFC 7692 §7.1.1.2 lets a server add unasked).
    /// Our decompressor then lives only while a message is inflated and is shared through a
    /// per-thread pool, as above: an idle connection holds no decompressor (instead of
    /// 46–78 KiB), and the client's messages compress worse. Default: off;
    /// [`ServerPolicy::shared`] turns it on.
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

impl ServerPolicy {
    /// The shared-compressor mode for servers with many connections: accept every
    /// well-formed offer, but always answer `server_no_context_takeover` and
    /// `client_no_context_takeover` (RFC 7692 §7.1.1.1–§7.1.1.2 let a server add both), so
    /// that no deflate state has to survive a message in either direction. Each thread then
    /// keeps about one compressor and one decompressor for all its connections (a pool of
    /// at most 4 each), and an idle connection holds about 0 KiB of deflate state instead
    /// of about 340 KiB at the defaults.
    ///
    /// The trade-off is the compression ratio: with no context takeover each message is
    /// compressed on its own, which costs little on large messages (16 KiB JSON: 0.278
    /// instead of 0.252 at level 1) and nearly all of the gain on small ones (128 B JSON:
    /// 0.973 instead of 0.464), plus the cost of resetting a compressor per message. Use it
    /// when memory per connection matters more than bandwidth, or when messages are large.
    ///
    /// ```
    /// use wintergreen_codec::ExtensionFactory;
    /// use wintergreen_deflate::{DeflateConfig, DeflateFactory, ServerPolicy};
    ///
    /// let mut config = DeflateConfig::default();
    /// config.server = ServerPolicy::shared();
    /// let server = DeflateFactory::new(config);
    /// let offer = DeflateFactory::client_default().offers();
    /// let (answer, _ext) = server.accept_offers(&offer).unwrap().expect("accepted");
    /// assert_eq!(
    ///     answer.to_string(),
    ///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    /// );
    /// ```
    pub const fn shared() -> Self {
        Self {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::MAX,
        }
    }
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
