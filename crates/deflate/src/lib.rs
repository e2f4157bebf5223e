//! permessage-deflate (RFC 7692) for wintergreen: an [`Extension`](wintergreen_codec::Extension)
//! that the codec's [`Session`](wintergreen_codec::Session) drives, and the
//! [`ExtensionFactory`](wintergreen_codec::ExtensionFactory) that negotiates it in the opening
//! handshake, for both roles. It knows nothing of HTTP or sockets, so it works the same over
//! HTTP/1.1 and HTTP/2 (RFC 8441).
//!
//! Most applications want the `wintergreen` facade crate with its `deflate` feature (on by
//! default), which offers and accepts this extension on every connection.
//!
//! ```
//! use wintergreen_codec::{Config, Event, ExtensionFactory, Message, Role, Session};
//! use wintergreen_deflate::DeflateFactory;
//!
//! // The handshake does this part: the client offers, the server answers, the client checks.
//! let (client_factory, server_factory) = (DeflateFactory::client_default(), DeflateFactory::server_default());
//! let offers = client_factory.offers(); // permessage-deflate; client_max_window_bits
//! let (answer, server_ext) = server_factory.accept_offers(&offers).unwrap().expect("accepted");
//! let client_ext = client_factory.accept_response(&answer).unwrap();
//!
//! let mut client = Session::new(Role::Client, Config::default()).with_extension(client_ext);
//! let mut server = Session::new(Role::Server, Config::default()).with_extension(server_ext);
//! client.send_text(&"compress me ".repeat(100)).unwrap();
//! assert!(client.pending_output().len() < 100); // 1200 bytes of text, compressed
//! server.receive(std::time::Instant::now(), &client.take_output());
//! match server.poll_event() {
//!     Some(Ok(Event::Message(Message::Text(text)))) => assert_eq!(text.len(), 1200),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! ## Negotiation (RFC 7692 §7.1)
//!
//! A client makes one or more [`DeflateOffer`]s, in order of preference
//! ([`DeflateConfig::offers`]), each carrying any of the four parameters. It reads the
//! server's answer strictly: an unknown or repeated parameter, a bad value (window bits
//! outside `8..=15`, not plain decimal, quoted, a value on a flag, `client_max_window_bits`
//! without a value), or an answer that fits none of the offers (it drops a requested
//! `server_no_context_takeover`, confirms no or a larger `server_max_window_bits` than
//! requested, sets a `client_max_window_bits` the offer did not carry or a larger one) is a
//! typed [`NegotiationError`], and the handshake fails.
//!
//! A server judges the client's offers in the client's order under its [`ServerPolicy`] and
//! accepts the first well-formed one; malformed offers are declined and the next is tried.
//! If none is acceptable, it declines the extension and the connection goes on
//! uncompressed.
//!
//! ## Defaults
//!
//! - The client offers `permessage-deflate; client_max_window_bits`
//!   ([`DeflateConfig::default_offer`]), as browsers do: context takeover both ways, 32 KiB
//!   windows unless the server asks for less.
//! - The server accepts with its own 32 KiB window and context takeover, and honours
//!   whatever a well-formed offer asks for. [`ServerPolicy::shared`] is the opt-in
//!   low-memory alternative (no context takeover both ways, pooled states).
//! - Compression level 1 ([`DeflateConfig::DEFAULT_LEVEL`]) at memory level 1
//!   ([`DeflateConfig::DEFAULT_MEM_LEVEL`] chooses by level): it favours speed. On this
//!   crate's benchmark (JSON messages of 128 B to 16 KiB, context takeover) a round trip at
//!   level 1 runs 5–6× faster than at level 6, for output 18% (128 B) to 56% (16 KiB)
//!   larger. Set [`DeflateConfig::level`] to 6 to favour size.
//! - Messages under 8 bytes go uncompressed ([`DeflateConfig::DEFAULT_THRESHOLD`]): below
//!   that, deflate saves at most a few bytes and usually adds some.
//!
//! ## Compression
//!
//! Each message is compressed with raw DEFLATE and a sync flush, and the flush's trailing
//! `00 00 ff ff` is stripped (RFC 7692 §7.2.1); it is put back before inflating. Context
//! takeover is the default; a direction whose `*_no_context_takeover` was agreed ends each
//! message by handing its compressor, reset, back to a per-thread pool, which forgets the
//! history (the receiver needs no reset: the next message simply never refers back). RSV1
//! marks a compressed message on its first frame only.
//!
//! - A message below the threshold is sent as is, RSV1 clear, and never enters the
//!   compression context.
//! - An empty message compresses to the single byte `00`.
//! - A caller-fragmented message ([`Session::send_fragment`](wintergreen_codec::Session::send_fragment))
//!   is always compressed (its size is not known up front), and each fragment ends with a
//!   sync flush, so that a receiver can inflate every fragment as it arrives.
//!
//! ### An 8-bit window
//!
//! zlib (and zlib-rs) cannot compress with a 256-byte window: asked for one, it uses 512
//! bytes. When the peer limits us to 8 bits, we compress with zlib's 9-bit window, which is
//! valid for the peer because zlib never reaches back further than the window minus its
//! 262-byte lookahead: at most 250 bytes with a 512-byte window. So the stream has no
//! back-reference beyond 256 bytes, which is what an 8-bit window requires, and it still
//! compresses with every strategy zlib has. This crate's tests decode such streams at every
//! level with a decoder of their own that measures each distance, on data built to tempt
//! longer matches. We therefore accept and offer 8 like any other value. Incoming 8-bit
//! streams are inflated with a 9-bit window, which reads them unchanged.
//!
//! ## Decompression and its limit
//!
//! Decompression streams, frame by frame, in bounded chunks. The session passes what is left
//! of [`Config::max_message_size`](wintergreen_codec::Config::max_message_size) (default
//! 64 MiB) to each call; the moment output would go past it, decoding stops with
//! [`ExtensionError::MessageTooLarge`](wintergreen_codec::ExtensionError::MessageTooLarge) and
//! the session fails the connection with 1009. At most the limit is ever held: a 1 MiB frame
//! that would inflate to 1 GiB of zeros costs the receiver 64 MiB and a few dozen
//! milliseconds (see `tests/bomb.rs`). Corrupt compressed data fails the connection with
//! 1007, as a typed [`InflateError::Corrupt`].
//!
//! A message is complete when its DEFLATE data, with `00 00 ff ff` put back, ends at a block
//! boundary (RFC 7692 §7.2.2), or when it ends the stream with a block that has BFINAL set
//! (§7.2.3.4). One that stops inside a block was cut off: it fails the connection with 1007
//! ([`InflateError::Truncated`]) and nothing of it is delivered (in streaming mode, nothing
//! past the fragments already delivered: the cut shows only at the last). zlib's block
//! flush stops at each block's end; one byte fed after the tail, in the same call, is left
//! unread exactly when the message ends at a boundary. A sender that left a sync flush's
//! `00 00 ff ff` in place is tolerated: its message already ends at a boundary.
//!
//! Every stream shape a peer may produce inflates, message after message: stored, fixed and
//! dynamic blocks, empty blocks, sync, full and partial flushes inside a message, a message
//! that is only an empty block, and blocks with BFINAL set. After a BFINAL block the peer's
//! next blocks (in the same message or the next) start a new stream, and with context
//! takeover they may still refer back into everything before it, up to the window: the
//! receiver keeps a copy of the last 2<sup>bits</sup> bytes it inflated and primes the new
//! stream with it. A message whose compressed payload is empty reads as an empty message.
//! (`tests/stream_shapes.rs` checks each shape at every window size, in both roles, against
//! an independent decoder.)
//!
//! ## Memory per connection
//!
//! Measured with a counting allocator (zlib-rs 0.6; `tests/memory.rs` holds each figure as a
//! bound). Each state is created the first time its direction carries a compressed message.
//!
//! | window bits (sending) | compressor, level 1 (default) | at levels 0, 2–9 | before (zlib's memory level 8) |
//! |---|---|---|---|
//! | 8 (compressed as 9), 9 | 134 KiB | 161 KiB | 245 KiB |
//! | 10 | 136 KiB | 163 KiB | 247 KiB |
//! | 11 | 140 KiB | 167 KiB | 251 KiB |
//! | 12 | 148 KiB | 175 KiB | 259 KiB |
//! | 13 | 164 KiB | 191 KiB | 275 KiB |
//! | 14 | 196 KiB | 223 KiB | 307 KiB |
//! | 15 | 260 KiB | 287 KiB | 371 KiB |
//!
//! The compressor needs 4 × 2<sup>bits</sup> bytes (the doubled window and its hash
//! chains), zlib-rs's hash table of a fixed 64 Ki entries (128 KiB) and its state, plus
//! symbol buffers of 7 × 2<sup>memLevel+6</sup> bytes. [`DeflateConfig::mem_level`] picks
//! the memory level by compression level: 1 at level 1 (0.9 KiB of buffers; zlib-rs's
//! level 1 writes fixed-Huffman blocks, and its output is the same at every memory level)
//! and 6 otherwise (28 KiB; the same output as 8 on the benchmark's JSON), where zlib's
//! usual 8 takes 112 KiB. The window stays at 15 bits: smaller windows compress small
//! messages worse (128-byte JSON with takeover: 0.464 at 15 bits, 0.482 at 13, 0.508 at 11).
//!
//! The decompressor takes 46.6 KiB whatever the window (zlib-rs always allocates a 32 KiB
//! window), plus the copy of the peer's last window that survives a BFINAL block: it grows
//! with what was inflated, up to 2<sup>bits</sup> bytes, so 47.6 KiB after one 1 KiB
//! message and at most 78.6 KiB at 15 bits (47.1 KiB at 8 and 9).
//!
//! **Without context takeover** nothing has to survive a message, so a direction whose
//! `*_no_context_takeover` was agreed holds its state only while a message passes: when the
//! message ends, the compressor (or decompressor) is reset and given to a per-thread pool
//! (at most 4 idle states of each kind per thread), and the next message on any connection
//! of that thread takes it from there. (So a peer that agreed no context takeover and
//! still refers back to an earlier message fails with 1007, "invalid distance too far
//! back": its history is gone, and never another connection's.) Between messages such a
//! direction holds 0 bytes; the thread holds about one compressor and one decompressor for
//! all its connections (307 KiB at 15 bits). [`ServerPolicy::shared`] makes a server insist on it in both directions (RFC
//! 7692 §7.1.1.1–§7.1.1.2 let the server add both parameters to its answer): an idle
//! connection then holds 112 bytes of deflate state (the [`Deflate`] value itself) instead
//! of about 340 KiB, at the cost of the compression ratio on small messages (see the
//! crate's README for the table of modes). [`pooled_on_this_thread`] and
//! [`release_pooled_on_this_thread`] report and free a thread's pool.
//!
//! A connection that compresses both ways with context takeover at the defaults therefore
//! holds at most 339 KiB (450 KiB before the memory level was chosen by level).

#![deny(missing_docs)]

mod config;
mod error;
mod extension;
mod factory;
mod inflate;
mod params;
mod pool;

pub use config::{DeflateConfig, ServerPolicy};
pub use error::{InflateError, Mismatch, NegotiationError};
pub use extension::Deflate;
pub use factory::DeflateFactory;
pub use params::{
    ClientMaxWindowBits, DeflateOffer, DeflateParams, EXTENSION_NAME, InvalidWindowBits, WindowBits,
};
pub use pool::{pooled_on_this_thread, release_pooled_on_this_thread};
