//! The negotiated extension: compresses outgoing data messages and inflates incoming ones
//! (RFC 7692 §6–§7.2), one frame at a time, within the session's size limit.

use bytes::{BufMut, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use wintergreen_codec::{Extension, ExtensionError, OpCode, Role, Rsv};

use crate::config::DeflateConfig;
use crate::params::{DeflateParams, EXTENSION_NAME, WindowBits};

/// The empty stored block's tail that a sync flush ends with; stripped from each compressed
/// message and put back before inflating it (RFC 7692 §7.2.1–§7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The first output chunk when inflating, on the stack; later chunks double up to
/// [`MAX_INFLATE_CHUNK`], always capped by what is left of the limit.
const STACK_CHUNK: usize = 4096;
/// The largest output chunk reserved at once when inflating.
const MAX_INFLATE_CHUNK: usize = 1 << 20;
/// Last frames up to this size are inflated together with the tail, in one call.
const SMALL_MESSAGE: usize = 512;

/// permessage-deflate on one connection, after a successful negotiation. Built by
/// [`DeflateFactory`](crate::DeflateFactory), or directly with [`Deflate::new`] when the
/// parameters were agreed some other way.
///
/// The zlib states are created on first use, so a connection that never sends (or never
/// receives) a compressed message never pays for that direction's state.
#[derive(Debug)]
pub struct Deflate {
    role: Role,
    params: DeflateParams,
    level: u32,
    threshold: usize,
    /// zlib window bits for sending (9..=15: zlib cannot do 8; see the crate docs).
    send_bits: u8,
    /// zlib window bits for receiving (9..=15: a 9-bit inflater reads 8-bit streams).
    recv_bits: u8,
    send_no_context_takeover: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// The current incoming message has had compressed bytes.
    recv_fed: bool,
    /// The peer ended its deflate stream (a block with BFINAL set) in the current message.
    recv_stream_ended: bool,
}

impl Deflate {
    /// The extension for `role` with agreed `params`, compressing as `config` says
    /// (level and threshold; its offers and server policy play no part here).
    pub fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let (send, recv, send_no_context_takeover) = match role {
            Role::Client => (
                params.client_max_window_bits,
                params.server_max_window_bits,
                params.client_no_context_takeover,
            ),
            Role::Server => (
                params.server_max_window_bits,
                params.client_max_window_bits,
                params.server_no_context_takeover,
            ),
        };
        Self {
            role,
            params,
            level: config.zlib_level(),
            threshold: config.threshold,
            send_bits: zlib_bits(send),
            recv_bits: zlib_bits(recv),
            send_no_context_takeover,
            compressor: None,
            decompressor: None,
            recv_fed: false,
            recv_stream_ended: false,
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

    fn new_decompressor(&self) -> Decompress {
        Decompress::new_with_window_bits(false, self.recv_bits)
    }

    /// Runs `input` through the compressor and `flush`es it, appending all the output.
    fn compress(
        &mut self,
        mut input: &[u8],
        flush: FlushCompress,
        out: &mut BytesMut,
    ) -> Result<(), ExtensionError> {
        let (level, bits) = (self.level, self.send_bits);
        let compressor = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
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
            status.map_err(|err| ExtensionError::Internal(format!("deflate failed: {err}")))?;
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

    /// Inflates `input` into `out`, which may grow by at most `*room` bytes (decremented by
    /// what is produced).
    ///
    /// The last `tail` bytes of `input` are the appended `00 00 ff ff`: once the peer has
    /// ended its deflate stream (BFINAL), they are not deflate data and are dropped.
    fn inflate(
        &mut self,
        mut input: &[u8],
        tail: usize,
        out: &mut BytesMut,
        room: &mut usize,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        // Small output goes to a stack buffer first, big enough for zlib's fast path (it needs
        // 258 bytes of room), and is copied into `out` at its exact size; larger output goes
        // straight into `out`, in chunks that start at four times the input and double.
        let mut stack = [0u8; STACK_CHUNK];
        let mut chunk = input
            .len()
            .saturating_mul(4)
            .clamp(STACK_CHUNK, MAX_INFLATE_CHUNK);
        // Whether the last call filled its output: zlib may hold more even with no input left.
        let mut filled = false;
        while !input.is_empty() || filled {
            if self.recv_stream_ended {
                if input.len() <= tail {
                    break;
                }
                // RFC 7692 §7.2.3.4: after a block with BFINAL set, further blocks follow as
                // a new stream; keep what this message produced so far as its history.
                self.restart_inflater(out)?;
            }
            let bits = self.recv_bits;
            let inflater = self
                .decompressor
                .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let offered = chunk.min(*room);
            let status = if offered == 0 {
                // At the limit: one more byte of output means the message is too large.
                let mut probe = [0u8; 1];
                let status = inflater.decompress(input, &mut probe, FlushDecompress::None);
                if inflater.total_out() > before_out {
                    return Err(ExtensionError::MessageTooLarge { limit });
                }
                status
            } else if offered <= STACK_CHUNK {
                let target = stack.get_mut(..offered).unwrap_or_default();
                let status = inflater.decompress(input, target, FlushDecompress::None);
                let produced = (inflater.total_out() - before_out) as usize;
                out.extend_from_slice(stack.get(..produced).unwrap_or_default());
                status
            } else {
                let start = out.len();
                out.resize(start + offered, 0);
                let target = out.get_mut(start..).unwrap_or_default();
                let status = inflater.decompress(input, target, FlushDecompress::None);
                let produced = (inflater.total_out() - before_out) as usize;
                out.truncate(start + produced);
                status
            };
            let consumed = (inflater.total_in() - before_in) as usize;
            let produced = (inflater.total_out() - before_out) as usize;
            input = input.get(consumed..).unwrap_or_default();
            *room -= produced;
            filled = produced == offered.max(1);
            chunk = chunk.saturating_mul(2).min(MAX_INFLATE_CHUNK);
            match status {
                Ok(Status::StreamEnd) => {
                    self.recv_stream_ended = true;
                    filled = false;
                }
                Ok(Status::Ok | Status::BufError) => {
                    if consumed == 0 && produced == 0 && !input.is_empty() {
                        return Err(ExtensionError::Internal("inflate made no progress".into()));
                    }
                }
                Err(err) => {
                    return Err(ExtensionError::InvalidData(format!(
                        "inflate failed: {err}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// A fresh inflater after the peer ended a deflate stream, primed with the last window's
    /// worth of this message's output.
    fn restart_inflater(&mut self, out: &BytesMut) -> Result<(), ExtensionError> {
        let mut inflater = self.new_decompressor();
        let window = 1usize << self.recv_bits;
        let history = out
            .get(out.len().saturating_sub(window)..)
            .unwrap_or_default();
        if !history.is_empty() {
            inflater
                .set_dictionary(history)
                .map_err(|err| ExtensionError::Internal(format!("inflate dictionary: {err}")))?;
        }
        self.decompressor = Some(inflater);
        self.recv_stream_ended = false;
        Ok(())
    }

    /// An incoming message is complete.
    fn finish_message(&mut self) {
        if self.recv_stream_ended {
            // The peer ended its stream: the next message starts a new one.
            self.decompressor = None;
        }
        self.recv_fed = false;
        self.recv_stream_ended = false;
    }
}

/// The window bits zlib works with for an agreed value: zlib cannot compress with an 8-bit
/// window, and its 9-bit compressor never reaches back further than 250 bytes (its longest
/// distance is the window minus 262 bytes of lookahead), so its output is valid for a peer
/// that agreed on 8. A 9-bit inflater reads 8-bit streams.
fn zlib_bits(bits: WindowBits) -> u8 {
    bits.get().max(9)
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
        // Every piece ends with a flush, so that each frame of a caller-fragmented message
        // carries all of its data (RFC 7692 §7.2.1).
        // Without context takeover, the message's last flush is a full flush: it ends the
        // same way (an empty stored block) and forgets the history, so the next message
        // cannot refer back. (Cheaper than resetting the compressor, measured.)
        let flush = if fin && self.send_no_context_takeover {
            FlushCompress::Full
        } else {
            FlushCompress::Sync
        };
        self.compress(payload, flush, out)?;
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
        self.recv_stream_ended = false;
        rsv.contains(Rsv::RSV1)
    }

    fn decode(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let mut room = limit;
        if fin && !payload.is_empty() && payload.len() <= SMALL_MESSAGE && !self.recv_stream_ended {
            // A small last frame: inflate it and the tail in one call, which saves a zlib
            // call and a second growth of `out` on every small message.
            let mut joined = [0u8; SMALL_MESSAGE + TAIL.len()];
            let len = payload.len() + TAIL.len();
            let (head, rest) = joined.split_at_mut(payload.len());
            head.copy_from_slice(payload);
            if let Some(tail) = rest.get_mut(..TAIL.len()) {
                tail.copy_from_slice(&TAIL);
            }
            self.recv_fed = true;
            self.inflate(
                joined.get(..len).unwrap_or_default(),
                TAIL.len(),
                out,
                &mut room,
                limit,
            )?;
            self.finish_message();
            return Ok(());
        }
        if !payload.is_empty() {
            self.recv_fed = true;
            self.inflate(payload, 0, out, &mut room, limit)?;
        }
        if fin {
            // An empty compressed message (no bytes at all) is read as empty; a stream that
            // ended with BFINAL needs no tail (what follows it is not deflate data).
            if self.recv_fed && !self.recv_stream_ended {
                self.inflate(&TAIL, TAIL.len(), out, &mut room, limit)?;
            }
            self.finish_message();
        }
        Ok(())
    }
}
