//! The negotiated extension: compresses outgoing data messages and inflates incoming ones
//! (RFC 7692 §6–§7.2), one frame at a time, within the session's size limit.

use std::fmt;

use bytes::{BufMut, BytesMut};
use wintergreen_codec::{Extension, ExtensionError, OpCode, Role, Rsv};
use zlib_rs::{Deflate as ZlibDeflate, DeflateFlush};

use crate::config::DeflateConfig;
use crate::inflate::{Inflater, TAIL};
use crate::params::{DeflateParams, EXTENSION_NAME, WindowBits};
use crate::pool::{self, CompressorKind};

/// permessage-deflate on one connection, after a successful negotiation. Built by
/// [`DeflateFactory`](crate::DeflateFactory), or directly with [`Deflate::new`] when the
/// parameters were agreed some other way.
///
/// The zlib states are created on first use, so a connection that never sends (or never
/// receives) a compressed message never pays for that direction's state. A direction that
/// agreed no context takeover holds its state only while a message passes: at the message's
/// end it goes back to a per-thread pool (see the crate docs, "Memory per connection").
pub struct Deflate {
    role: Role,
    params: DeflateParams,
    threshold: usize,
    /// The compressor's level, window bits (9..=15: zlib cannot do 8; see the crate docs)
    /// and memory level.
    send_kind: CompressorKind,
    send_no_context_takeover: bool,
    compressor: Option<Box<ZlibDeflate>>,
    inflater: Inflater,
    /// The current incoming message has had compressed bytes.
    recv_fed: bool,
}

impl Deflate {
    /// The extension for `role` with agreed `params`, compressing as `config` says
    /// (level, memory level and threshold; its offers and server policy play no part here).
    pub fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let (send, recv, send_no_context_takeover, recv_no_context_takeover) = match role {
            Role::Client => (
                params.client_max_window_bits,
                params.server_max_window_bits,
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            ),
            Role::Server => (
                params.server_max_window_bits,
                params.client_max_window_bits,
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            ),
        };
        Self {
            role,
            params,
            threshold: config.threshold,
            send_kind: CompressorKind {
                level: config.zlib_level(),
                bits: zlib_bits(send),
                mem_level: config.zlib_mem_level(),
            },
            send_no_context_takeover,
            compressor: None,
            inflater: Inflater::new(zlib_bits(recv), !recv_no_context_takeover),
            recv_fed: false,
        }
    }

    /// The agreed parameters.
    pub const fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Which end this is.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// Whether a zlib state is held for each direction (sending, receiving): between
    /// messages, a direction without context takeover holds none.
    pub fn holds_state(&self) -> (bool, bool) {
        (self.compressor.is_some(), self.inflater.holds_state())
    }

    /// Runs `input` through the compressor and `flush`es it, appending all the output.
    fn compress(
        &mut self,
        mut input: &[u8],
        flush: DeflateFlush,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        let kind = self.send_kind;
        let compressor = self
            .compressor
            .get_or_insert_with(|| pool::take_compressor(kind));
        loop {
            // Room for stored blocks in the worst case, plus the flush marker.
            let room = input.len() + input.len() / 64 + 64;
            let start = out.len();
            out.resize(start + room, 0);
            let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
            let status =
                compressor.compress(input, out.get_mut(start..).unwrap_or_default(), flush);
            let consumed = (compressor.total_in() - before_in) as usize;
            let produced = (compressor.total_out() - before_out) as usize;
            out.truncate(start + produced);
            // zlib-rs's error type is not a `std::error::Error`: its text is what there is.
            status.map_err(|err| {
                ExtensionError::Internal(format!("deflate failed: {}", err.as_str()).into())
            })?;
            input = input.get(consumed..).unwrap_or_default();
            // The flush is complete once all input is in and zlib left output room unused.
            if input.is_empty() && produced < room {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                return Err(ExtensionError::Internal("deflate made no progress".into()));
            }
        }
    }
}

/// The window bits zlib works with for an agreed value: zlib cannot compress with an 8-bit
/// window, and its 9-bit compressor never reaches back further than 250 bytes (its longest
/// distance is the window minus 262 bytes of lookahead), so its output is valid for a peer
/// that agreed on 8. A 9-bit inflater reads 8-bit streams.
fn zlib_bits(bits: WindowBits) -> u8 {
    bits.get().max(9)
}

impl fmt::Debug for Deflate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflate")
            .field("role", &self.role)
            .field("params", &self.params)
            .field("threshold", &self.threshold)
            .field("send_kind", &self.send_kind)
            .field("compressor_allocated", &self.compressor.is_some())
            .field("inflater", &self.inflater)
            .finish_non_exhaustive()
    }
}

impl Extension for Deflate {
    fn name(&self) -> &str {
        EXTENSION_NAME
    }

    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn encode_start(&mut self, _opcode: OpCode, size_hint: Option<usize>) -> Rsv {
        match size_hint {
            Some(len) if len < self.threshold => Rsv::NONE,
            _ => Rsv::RSV1,
        }
    }

    fn encode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        let start = out.len();
        // Every piece ends with a sync flush, so that each frame of a caller-fragmented
        // message carries all of its data (RFC 7692 §7.2.1).
        let compressed = self.compress(payload, DeflateFlush::SyncFlush, out);
        if fin && self.send_no_context_takeover {
            // Without context takeover nothing has to survive the message: the compressor
            // goes back to the thread's pool, reset, so the next message (ours or another
            // connection's) starts a new stream that cannot refer back.
            if let Some(compressor) = self.compressor.take() {
                pool::give_compressor(self.send_kind, compressor);
            }
        }
        compressed?;
        if fin {
            if out.get(start..).is_some_and(|fresh| fresh.ends_with(&TAIL)) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == start {
                // zlib writes nothing for a flush with no new input (an empty message, or an
                // empty last fragment); the stream is at a byte boundary after the previous
                // flush, so the empty stored block is 00 00 00 ff ff, and without its tail: 00.
                out.put_u8(0);
            } else {
                return Err(ExtensionError::Internal(
                    "deflate output lacks the sync-flush marker".into(),
                ));
            }
        }
        Ok(())
    }

    fn decode_start(&mut self, rsv: Rsv) -> bool {
        self.recv_fed = false;
        rsv.contains(Rsv::RSV1)
    }

    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let started = self.recv_fed;
        self.recv_fed = (started || !payload.is_empty()) && !fin;
        self.inflater.decode(payload, fin, started, out, limit)
    }
}
