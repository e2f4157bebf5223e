//! Frame headers and the stand-alone frame decoder and encoder (RFC 6455 §5.2).
//!
//! These types work on their own, for users who want frames rather than messages:
//! [`FrameDecoder`] turns a byte buffer into unmasked [`Frame`]s, [`encode_frame`] writes one
//! frame (masking it when given a key). The [`Session`](crate::Session) is built on the same
//! pieces and adds the message-level rules of §5.4–§7.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::fast::mask::{apply_mask, apply_mask_offset};

/// A frame's opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented data message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: a close frame.
    Close,
    /// `0x9`: a ping.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl OpCode {
    /// Parses the low nibble of a frame's first byte; `None` for the reserved opcodes.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0x0 => Some(Self::Continuation),
            0x1 => Some(Self::Text),
            0x2 => Some(Self::Binary),
            0x8 => Some(Self::Close),
            0x9 => Some(Self::Ping),
            0xA => Some(Self::Pong),
            _ => None,
        }
    }

    /// The opcode's wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames (§5.5).
    pub const fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// The three reserved bits of a frame's first byte, as they sit in that byte
/// (RSV1 = `0x40`, RSV2 = `0x20`, RSV3 = `0x10`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rsv(u8);

impl Rsv {
    /// No reserved bit.
    pub const NONE: Self = Self(0);
    /// RSV1, used by permessage-deflate (RFC 7692).
    pub const RSV1: Self = Self(0x40);
    /// RSV2.
    pub const RSV2: Self = Self(0x20);
    /// RSV3.
    pub const RSV3: Self = Self(0x10);

    /// Takes the reserved bits out of a frame's first byte, ignoring the others.
    pub const fn from_bits(first_byte: u8) -> Self {
        Self(first_byte & 0x70)
    }

    /// The bits, in their place in the first byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Rsv {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// RSV1–3.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The longest header: 2 bytes, an 8-byte extended length and a 4-byte mask key.
    pub const MAX_LEN: usize = 14;

    /// How many bytes [`encode`](Self::encode) writes for this header.
    pub const fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        if self.mask.is_some() { len + 4 } else { len }
    }

    /// Writes the header, using the shortest length encoding (§5.2 requires it of senders).
    pub fn encode(&self, out: &mut impl BufMut) {
        let (bytes, len) = self.to_bytes();
        out.put_slice(bytes.get(..len).unwrap_or_default());
    }

    /// The header's bytes on the stack (the first [`encoded_len`](Self::encoded_len) of
    /// them), built at once: what [`encode`](Self::encode) and [`encode_frame`] write.
    #[inline(always)]
    pub fn to_bytes(&self) -> ([u8; Self::MAX_LEN], usize) {
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[0] = first_byte(self.fin, self.rsv, self.opcode);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = match self.payload_len {
            // The match arms bound the value, so the narrowing casts are exact.
            n @ 0..=125 => {
                bytes[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                bytes[1] = mask_bit | 126;
                bytes[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                bytes[1] = mask_bit | 127;
                bytes[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let (Some(key), Some(slot)) = (self.mask, bytes.get_mut(len..len + 4)) {
            slot.copy_from_slice(&key);
            len += 4;
        }
        (bytes, len)
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not hold the whole header yet, or the header and
    /// its length in bytes. Checks only what the header alone can break: a reserved opcode,
    /// a 64-bit length with its most significant bit set, and the control-frame rules of
    /// §5.5 (FIN set, payload of at most 125 bytes).
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [first, second, rest @ ..] = buf else {
            return Ok(None);
        };
        let opcode =
            OpCode::from_u8(first & 0x0F).ok_or(ProtocolError::InvalidOpcode(first & 0x0F))?;
        let fin = first & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        let (payload_len, rest) = match second & 0x7F {
            126 => match rest {
                [a, b, rest @ ..] => (u64::from(u16::from_be_bytes([*a, *b])), rest),
                _ => return Ok(None),
            },
            127 => match rest.split_first_chunk::<8>() {
                Some((len, rest)) => {
                    let len = u64::from_be_bytes(*len);
                    if len >> 63 != 0 {
                        return Err(ProtocolError::PayloadLengthOverflow);
                    }
                    (len, rest)
                }
                None => return Ok(None),
            },
            len => (u64::from(len), rest),
        };
        if opcode.is_control() && payload_len > 125 {
            return Err(ProtocolError::ControlFrameTooLong(payload_len));
        }
        let (mask, rest) = if second & 0x80 != 0 {
            match rest.split_first_chunk::<4>() {
                Some((key, rest)) => (Some(*key), rest),
                None => return Ok(None),
            }
        } else {
            (None, rest)
        };
        let header = Self {
            fin,
            rsv: Rsv::from_bits(*first),
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, buf.len() - rest.len())))
    }
}

/// Room reserved past a frame's payload when its header arrives (see `poll_header`).
const READ_HEADROOM: usize = 128 << 10;

/// A whole frame with its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header as it was on the wire (the mask key, if any, has been applied).
    pub header: FrameHeader,
    /// The unmasked payload, split from the decoder's buffer without a copy.
    pub payload: Bytes,
}

/// A frame header's first byte (§5.2): FIN, RSV1-3, opcode.
#[inline(always)]
const fn first_byte(fin: bool, rsv: Rsv, opcode: OpCode) -> u8 {
    opcode.as_u8() | rsv.bits() | if fin { 0x80 } else { 0 }
}

/// Writes one frame to `out`: the header, then the payload, masked in place when `mask` is
/// given (a client must mask every frame, §5.3).
#[inline(always)]
pub fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    rsv: Rsv,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    // Short frames (a client's and a server's usual ones) take a path of their own, inlined
    // into the caller: the header built in place and appended with the payload after one
    // reservation (callgrind, per 20 B frame: -26 instructions masked, -55 unmasked against
    // a call of the general path).
    if payload.len() <= 125 {
        // Exact: at most 125.
        let short = payload.len() as u8;
        let first = first_byte(fin, rsv, opcode);
        match mask {
            Some(key) => {
                let [a, b, c, d] = key;
                out.reserve(6 + payload.len());
                out.extend_from_slice(&[first, 0x80 | short, a, b, c, d]);
                let start = out.len();
                out.extend_from_slice(payload);
                if let Some(tail) = out.get_mut(start..) {
                    apply_mask(tail, key);
                }
            }
            None => {
                out.reserve(2 + payload.len());
                out.extend_from_slice(&[first, short]);
                out.extend_from_slice(payload);
            }
        }
        return;
    }
    encode_long_frame(out, fin, rsv, opcode, mask, payload);
}

/// [`encode_frame`] for payloads over 125 bytes.
fn encode_long_frame(
    out: &mut BytesMut,
    fin: bool,
    rsv: Rsv,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    // A 16-bit length (126 B to 64 KiB, a 1 KiB message's): the header built in place and
    // appended whole, as the short path does, instead of the general encoding's zeroed
    // 14-byte array and appended prefix (callgrind: about 60 instructions per frame).
    if let Ok(len16) = u16::try_from(payload.len()) {
        let first = first_byte(fin, rsv, opcode);
        let [hi, lo] = len16.to_be_bytes();
        match mask {
            Some([a, b, c, d]) => {
                out.reserve(8 + payload.len());
                out.extend_from_slice(&[first, 0x80 | 126, hi, lo, a, b, c, d]);
            }
            None => {
                out.reserve(4 + payload.len());
                out.extend_from_slice(&[first, 126, hi, lo]);
            }
        }
    } else {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let (head, len) = header.to_bytes();
        out.reserve(len + payload.len());
        out.extend_from_slice(head.get(..len).unwrap_or_default());
    }
    let Some(key) = mask else {
        out.extend_from_slice(payload);
        return;
    };
    // Copy and mask block by block, so each block is masked while it is still in L1: one
    // trip through the cache for large payloads instead of a copy pass and a mask pass.
    // The block length is a multiple of 4, so every block starts at key phase 0.
    for block in payload.chunks(MASK_BLOCK) {
        let start = out.len();
        out.extend_from_slice(block);
        if let Some(tail) = out.get_mut(start..) {
            apply_mask_offset(tail, key, 0);
        }
    }
}

/// Payload bytes copied then masked at a time by [`encode_frame`].
const MASK_BLOCK: usize = 8 << 10;

/// An incremental frame decoder: feed it a buffer that grows as bytes arrive.
///
/// It unmasks payload bytes as soon as they arrive (so a caller can inspect the partial
/// payload of a long frame, e.g. to validate UTF-8 early), and splits whole frames off the
/// buffer without copying.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
    current: Option<FrameHeader>,
    /// How many bytes at the start of the buffer belong to `current` and are unmasked.
    unmasked: usize,
    /// The wire length (header and payload) of the last frame whose header was accepted.
    last_len: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames whose payload is longer than `max_frame_size`.
    pub const fn new(max_frame_size: usize) -> Self {
        Self {
            max_frame_size,
            current: None,
            unmasked: 0,
            last_len: 0,
        }
    }

    /// Decodes the next frame from `buf`, removing its bytes.
    ///
    /// `Ok(None)` means more bytes are needed; call again once they have been appended.
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        if self.poll_header(buf)?.is_none() {
            return Ok(None);
        }
        Ok(self.poll_payload(buf))
    }

    /// Parses the next header if none is in progress, removing its bytes from `buf`.
    ///
    /// Returns the header of the frame in progress, or `None` when more bytes are needed.
    #[inline]
    pub fn poll_header(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<FrameHeader>, ProtocolError> {
        if let Some(header) = self.current {
            return Ok(Some(header));
        }
        let Some((header, len)) = FrameHeader::decode(buf)? else {
            return Ok(None);
        };
        if header.payload_len > self.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: header.payload_len,
                limit: self.max_frame_size,
            });
        }
        buf.advance(len);
        // Room for the whole payload now (bounded by `max_frame_size` above), so a long
        // frame arriving in many reads is not copied again each time the buffer grows.
        let payload_len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        // Only when the payload cannot fit where it is: reserving more while it can would
        // make `BytesMut` move the bytes already buffered (up to a frame) for room that is
        // not needed yet.
        if payload_len > buf.capacity() {
            // Plus room for one more read past the frame's end, so the read that completes it
            // (and brings the start of the next frame) does not regrow the buffer either.
            buf.reserve(payload_len - buf.len() + READ_HEADROOM);
        }
        self.current = Some(header);
        self.unmasked = 0;
        self.last_len = payload_len.saturating_add(len);
        Ok(Some(header))
    }

    /// Unmasks the payload bytes that have arrived; returns the frame once it is whole.
    ///
    /// Call after [`poll_header`](Self::poll_header) returned a header.
    #[inline]
    pub fn poll_payload(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        let header = self.current?;
        // Fits: poll_header bounded the length by `max_frame_size`.
        let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        let available = buf.len().min(len);
        if let (Some(key), Some(fresh)) = (header.mask, buf.get_mut(self.unmasked..available)) {
            apply_mask_offset(fresh, key, self.unmasked);
        }
        self.unmasked = available;
        if available < len {
            return None;
        }
        self.current = None;
        self.unmasked = 0;
        Some(Frame {
            header,
            payload: buf.split_to(len).freeze(),
        })
    }

    /// Whether `buf` starts with the commonest frame, whole: a short data frame (first byte
    /// `0x81` or `0x82`: FIN, no reserved bit, text or binary; a payload of at most 125
    /// bytes and within `max_frame_size`; the mask bit equal to `masked`), while no other
    /// frame is in progress. Its length (header and payload, bytes) when it does, for
    /// [`take_short_data`](Self::take_short_data).
    ///
    /// `None` for any other input (more bytes needed, another kind of frame, an invalid
    /// header): [`decode`](Self::decode) handles it, and reports what is wrong with it.
    #[inline]
    pub(crate) fn peek_short_data(&self, buf: &[u8], masked: bool) -> Option<usize> {
        if self.current.is_some() {
            return None;
        }
        let &[first, second] = buf.first_chunk::<2>()?;
        // FIN and text or binary, then the mask bit and a 7-bit length of at most 125.
        if !matches!(first, 0x81 | 0x82) {
            return None;
        }
        let len = usize::from(second & 0x7F);
        if (second & 0x80 != 0) != masked || len > 125 || len > self.max_frame_size {
            return None;
        }
        let total = if masked { 6 } else { 2 } + len;
        (buf.len() >= total).then_some(total)
    }

    /// Takes the frame that [`peek_short_data`](Self::peek_short_data) found (`total`
    /// bytes) off `buf`, unmasked: the same frame, and the same decoder state, that
    /// [`decode`](Self::decode) would give. `None`, with nothing consumed, when `buf` does
    /// not start with such a frame.
    #[inline]
    pub(crate) fn take_short_data(&mut self, buf: &mut BytesMut, total: usize) -> Option<Frame> {
        let &[first, second] = buf.first_chunk::<2>()?;
        let opcode = OpCode::from_u8(first & 0x0F)?;
        let len = usize::from(second & 0x7F);
        let (mask, header_len) = if second & 0x80 != 0 {
            (Some(*buf.get(2..6)?.first_chunk::<4>()?), 6)
        } else {
            (None, 2)
        };
        if header_len + len != total || buf.len() < total {
            return None;
        }
        Some(self.split_whole(buf, opcode, mask, header_len, len))
    }

    /// Takes a whole data frame with a 16- or 64-bit length (§5.2) off `buf`, unmasked, as
    /// [`take_short_data`](Self::take_short_data) takes a short one: FIN, no reserved bit,
    /// text or binary, the mask bit equal to `masked`, a payload within `max_frame_size`
    /// and `limit` (bytes), all of it in `buf`, and no other frame in progress. The same
    /// frame, and the same decoder state, that [`decode`](Self::decode) would give.
    ///
    /// `None`, with nothing consumed, for any other input: [`decode`](Self::decode)
    /// handles it. Inlined into its one caller, which the session keeps out of line so that
    /// short frames keep a path of their own size.
    #[inline(always)]
    pub(crate) fn take_extended_data(
        &mut self,
        buf: &mut BytesMut,
        masked: bool,
        limit: usize,
    ) -> Option<Frame> {
        if self.current.is_some() {
            return None;
        }
        let &[first, second] = buf.first_chunk::<2>()?;
        let opcode = match first {
            0x81 => OpCode::Text,
            0x82 => OpCode::Binary,
            _ => return None,
        };
        if (second & 0x80 != 0) != masked {
            return None;
        }
        let (len, len_end) = match second & 0x7F {
            126 => {
                let len = u16::from_be_bytes(*buf.get(2..)?.first_chunk::<2>()?);
                (u64::from(len), 4)
            }
            127 => {
                let len = u64::from_be_bytes(*buf.get(2..)?.first_chunk::<8>()?);
                // A length with its top bit set is an error `decode` reports.
                if len >> 63 != 0 {
                    return None;
                }
                (len, 10)
            }
            _ => return None,
        };
        let len = usize::try_from(len).ok()?;
        if len > self.max_frame_size || len > limit {
            return None;
        }
        let (mask, header_len) = if masked {
            (Some(*buf.get(len_end..)?.first_chunk::<4>()?), len_end + 4)
        } else {
            (None, len_end)
        };
        if buf.len().saturating_sub(header_len) < len {
            return None;
        }
        Some(self.split_whole(buf, opcode, mask, header_len, len))
    }

    /// Splits a whole data frame (FIN, no reserved bit: a `header_len`-byte header, then a
    /// `len`-byte payload, all in `buf`) off `buf`, unmasked.
    #[inline(always)]
    fn split_whole(
        &mut self,
        buf: &mut BytesMut,
        opcode: OpCode,
        mask: Option<[u8; 4]>,
        header_len: usize,
        len: usize,
    ) -> Frame {
        let total = header_len + len;
        // One split for header and payload; the header is then skipped on the shared
        // `Bytes` (a pointer bump), where skipping it on `buf` first costs a second
        // `BytesMut` operation.
        let mut frame = buf.split_to(total);
        if let (Some(key), Some(payload)) = (mask, frame.get_mut(header_len..)) {
            apply_mask_offset(payload, key, 0);
        }
        let mut payload = frame.freeze();
        payload.advance(header_len);
        self.last_len = total;
        Frame {
            header: FrameHeader {
                fin: true,
                rsv: Rsv::NONE,
                opcode,
                mask,
                payload_len: len as u64,
            },
            payload,
        }
    }

    /// The header of the frame whose payload is still arriving, if any.
    #[inline]
    pub const fn current_header(&self) -> Option<&FrameHeader> {
        self.current.as_ref()
    }

    /// The unmasked bytes of the current frame's payload that have arrived so far.
    #[inline]
    pub fn partial_payload<'a>(&self, buf: &'a BytesMut) -> &'a [u8] {
        buf.get(..self.unmasked).unwrap_or_default()
    }

    /// The wire length (header and payload, bytes) of the last frame whose header was
    /// accepted, within `max_frame_size` plus a header; 0 before the first. A reader's guess
    /// at the length of the next frame.
    #[inline]
    pub const fn last_frame_len(&self) -> usize {
        self.last_len
    }

    /// The largest payload accepted.
    pub const fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }
}
