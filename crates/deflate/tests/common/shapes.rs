//! A permessage-deflate sender of every DEFLATE stream shape a peer may produce (RFC 1951
//! blocks, RFC 7692 §7.2.1 flushes and §7.2.3.4 final blocks), built on zlib-rs through flate2
//! and on blocks written by hand. Each message comes with the stream segment an independent
//! decoder reads for it, so that a test can check the sender against that decoder before it
//! checks the receiver under test against the sender.

use flate2::{Compress, Compression, FlushCompress};

use super::puff::{DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA};

/// The empty stored block's tail a sync flush ends with (RFC 7692 §7.2.1).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How one message's DEFLATE data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The usual: a sync flush, its `00 00 ff ff` stripped (RFC 7692 §7.2.1).
    Sync,
    /// Ends with a full flush (the sender forgets its history), tail stripped.
    FullFlush,
    /// The data ends the stream: its last block has BFINAL set, and nothing follows.
    Final,
    /// RFC 7692 §7.2.3.4's layout: a BFINAL block, then `00` (an empty stored block's header
    /// with its `00 00 ff ff` stripped).
    FinalThenEmptyStored,
    /// A sync flush in the middle of the message as well as at its end.
    SyncInside,
    /// A full flush in the middle of the message.
    FullInside,
    /// A partial flush (an empty fixed block, not byte-aligned) in the middle.
    PartialInside,
    /// Stored blocks only.
    Stored,
    /// An extra empty stored block between the message's two halves.
    EmptyStoredInside,
    /// Level 9 on data long enough for dynamic Huffman blocks.
    Dynamic,
    /// The message is only an empty stored block: `00`.
    OnlyEmptyStored,
    /// The message is only an empty fixed block: `02 00`.
    OnlyEmptyFixed,
    /// The message is only an empty fixed block with BFINAL set: `03 00`.
    OnlyEmptyFixedFinal,
    /// The message is only an empty stored block with BFINAL set, tail stripped: `01`.
    OnlyEmptyStoredFinalStripped,
    /// The message is only an empty stored block with BFINAL set, whole: `01 00 00 ff ff`.
    OnlyEmptyStoredFinal,
    /// A hand-made fixed block: a few literals and a match reaching as far back as the window
    /// and the history allow (across messages with context takeover).
    FixedFarMatch,
    /// The same with BFINAL set on the block.
    FixedFarMatchFinal,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Self; 17] = [
        Self::Sync,
        Self::FullFlush,
        Self::Final,
        Self::FinalThenEmptyStored,
        Self::SyncInside,
        Self::FullInside,
        Self::PartialInside,
        Self::Stored,
        Self::EmptyStoredInside,
        Self::Dynamic,
        Self::OnlyEmptyStored,
        Self::OnlyEmptyFixed,
        Self::OnlyEmptyFixedFinal,
        Self::OnlyEmptyStoredFinalStripped,
        Self::OnlyEmptyStoredFinal,
        Self::FixedFarMatch,
        Self::FixedFarMatchFinal,
    ];
}

/// One message as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The uncompressed data.
    pub data: Vec<u8>,
    /// The compressed payload on the wire.
    pub wire: Vec<u8>,
    /// What an RFC 1951 decoder reads for this message, in a stream of all messages: the
    /// payload with the stripped tail put back, but nothing after a stream's end.
    pub reference: Vec<u8>,
}

/// A sender with an agreed window and context takeover or not.
pub struct Sender {
    /// Agreed window bits, 8..=15.
    bits: u8,
    takeover: bool,
    compressor: Compress,
    /// Everything sent so far (with takeover) or in the current message (without).
    history: Vec<u8>,
    /// The compressor's history no longer matches (a hand-made or stream-ending message).
    resync: bool,
}

impl Sender {
    /// A sender at level 6 with an agreed `bits`-bit window.
    pub fn new(bits: u8, takeover: bool) -> Self {
        Self {
            bits,
            takeover,
            compressor: Compress::new_with_window_bits(Compression::new(6), false, bits.max(9)),
            history: Vec::new(),
            resync: false,
        }
    }

    fn window(&self) -> usize {
        1 << self.bits
    }

    fn z(&mut self, input: &[u8], flush: FlushCompress) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 1024);
        let mut input = input;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity());
            }
            let before = self.compressor.total_in();
            self.compressor
                .compress_vec(input, &mut out, flush)
                .unwrap();
            let consumed = (self.compressor.total_in() - before) as usize;
            input = &input[consumed..];
            if input.is_empty() && out.capacity() - out.len() >= 64 {
                return out;
            }
        }
    }

    /// Sends `data` (ignored by the shapes that carry no data of their own) as `shape`.
    pub fn send(&mut self, shape: Shape, data: &[u8]) -> Sent {
        if !self.takeover {
            self.history.clear();
            self.compressor.reset();
            self.resync = false;
        } else if self.resync {
            self.compressor.reset();
            let start = self.history.len().saturating_sub(self.window().max(512));
            let dictionary = self.history[start..].to_vec();
            if !dictionary.is_empty() {
                self.compressor.set_dictionary(&dictionary).unwrap();
            }
            self.resync = false;
        }
        let half = data.len() / 2;
        let (wire, reference, data) = match shape {
            Shape::Sync => {
                let out = self.z(data, FlushCompress::Sync);
                (strip(&out), out, data.to_vec())
            }
            Shape::Dynamic => {
                // A level-9 compressor of its own, primed with the same history.
                let main = std::mem::replace(
                    &mut self.compressor,
                    Compress::new_with_window_bits(Compression::new(9), false, self.bits.max(9)),
                );
                let start = self.history.len().saturating_sub(self.window().max(512));
                let dictionary = self.history[start..].to_vec();
                if !dictionary.is_empty() {
                    self.compressor.set_dictionary(&dictionary).unwrap();
                }
                let out = self.z(data, FlushCompress::Sync);
                self.compressor = main;
                self.resync = true;
                (strip(&out), out, data.to_vec())
            }
            Shape::FullFlush => {
                let out = self.z(data, FlushCompress::Full);
                (strip(&out), out, data.to_vec())
            }
            Shape::Final => {
                let out = self.z(data, FlushCompress::Finish);
                self.resync = true;
                (out.clone(), out, data.to_vec())
            }
            Shape::FinalThenEmptyStored => {
                let out = self.z(data, FlushCompress::Finish);
                self.resync = true;
                let wire = [out.as_slice(), &[0x00]].concat();
                let reference = [out.as_slice(), &[0x00], &TAIL].concat();
                (wire, reference, data.to_vec())
            }
            Shape::SyncInside | Shape::FullInside | Shape::PartialInside => {
                let flush = match shape {
                    Shape::SyncInside => FlushCompress::Sync,
                    Shape::FullInside => FlushCompress::Full,
                    _ => FlushCompress::Partial,
                };
                let mut out = self.z(&data[..half], flush);
                out.extend(self.z(&data[half..], FlushCompress::Sync));
                (strip(&out), out, data.to_vec())
            }
            Shape::Stored => {
                // Stored blocks of at most 1000 bytes each, by hand (RFC 1951 §3.2.4), then
                // a sync flush's empty stored block.
                let mut out = Vec::new();
                for piece in data.chunks(1000) {
                    let len = piece.len() as u16;
                    out.push(0x00);
                    out.extend_from_slice(&len.to_le_bytes());
                    out.extend_from_slice(&(!len).to_le_bytes());
                    out.extend_from_slice(piece);
                }
                out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
                self.resync = true;
                (strip(&out), out, data.to_vec())
            }
            Shape::EmptyStoredInside => {
                let mut out = self.z(&data[..half], FlushCompress::Sync);
                out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
                out.extend(self.z(&data[half..], FlushCompress::Sync));
                (strip(&out), out, data.to_vec())
            }
            Shape::OnlyEmptyStored => (vec![0x00], [&[0x00][..], &TAIL].concat(), Vec::new()),
            Shape::OnlyEmptyFixed => (
                vec![0x02, 0x00],
                [&[0x02, 0x00][..], &TAIL].concat(),
                Vec::new(),
            ),
            Shape::OnlyEmptyFixedFinal => (vec![0x03, 0x00], vec![0x03, 0x00], Vec::new()),
            Shape::OnlyEmptyStoredFinalStripped => {
                (vec![0x01], [&[0x01][..], &TAIL].concat(), Vec::new())
            }
            Shape::OnlyEmptyStoredFinal => {
                let block = [&[0x01][..], &TAIL].concat();
                (block.clone(), block, Vec::new())
            }
            Shape::FixedFarMatch | Shape::FixedFarMatchFinal => {
                let last = shape == Shape::FixedFarMatchFinal;
                let literals = &data[..data.len().min(12)];
                let (bytes, made) = self.fixed_block(literals, last);
                self.resync = true;
                if last {
                    (bytes.clone(), bytes, made)
                } else {
                    (bytes.clone(), [bytes.as_slice(), &TAIL].concat(), made)
                }
            }
        };
        self.history.extend_from_slice(&data);
        Sent {
            data,
            wire,
            reference,
        }
    }

    /// A fixed-Huffman block (RFC 1951 §3.2.6): `literals`, then one match as long as
    /// possible at the farthest distance the window and the history allow, then (unless
    /// `last`) an empty stored block's header, byte-aligned, ready for the tail. Returns the
    /// bytes and the data they stand for.
    fn fixed_block(&self, literals: &[u8], last: bool) -> (Vec<u8>, Vec<u8>) {
        let mut w = BitWriter::default();
        w.bits(u32::from(last), 1);
        w.bits(1, 2); // BTYPE 01
        let mut made = Vec::new();
        for &byte in literals {
            fixed_symbol(&mut w, u16::from(byte));
            made.push(byte);
        }
        let reach = (self.history.len() + made.len()).min(self.window());
        if reach >= 1 {
            let distance = reach;
            let length = 258;
            // Length code.
            let i = LENGTH_BASE
                .iter()
                .rposition(|&base| usize::from(base) <= length)
                .unwrap();
            fixed_symbol(&mut w, 257 + i as u16);
            w.bits(
                (length - usize::from(LENGTH_BASE[i])) as u32,
                LENGTH_EXTRA[i],
            );
            // Distance code: 5 bits, most significant first.
            let d = DIST_BASE
                .iter()
                .rposition(|&base| usize::from(base) <= distance)
                .unwrap();
            w.code(d as u32, 5);
            w.bits((distance - usize::from(DIST_BASE[d])) as u32, DIST_EXTRA[d]);
            let context: Vec<u8> = [self.history.as_slice(), &made].concat();
            let mut all = context.clone();
            for _ in 0..length {
                all.push(all[all.len() - distance]);
            }
            made.extend_from_slice(&all[context.len()..]);
        }
        fixed_symbol(&mut w, 256);
        if !last {
            w.bits(0, 3); // an empty stored block's header, BFINAL 0
        }
        (w.finish(), made)
    }
}

/// Strips the sync flush's `00 00 ff ff` (RFC 7692 §7.2.1).
fn strip(out: &[u8]) -> Vec<u8> {
    assert!(out.ends_with(&TAIL), "no sync-flush tail: {out:02x?}");
    out[..out.len() - TAIL.len()].to_vec()
}

/// Writes a literal/length symbol with the fixed Huffman code (RFC 1951 §3.2.6).
fn fixed_symbol(w: &mut BitWriter, symbol: u16) {
    let symbol = u32::from(symbol);
    match symbol {
        0..=143 => w.code(0x30 + symbol, 8),
        144..=255 => w.code(0x190 + symbol - 144, 9),
        256..=279 => w.code(symbol - 256, 7),
        _ => w.code(0xc0 + symbol - 280, 8),
    }
}

/// Bits, least significant first, into bytes (RFC 1951 §3.1.1).
#[derive(Default)]
pub struct BitWriter {
    out: Vec<u8>,
    buf: u64,
    count: u32,
}

impl BitWriter {
    /// `n` bits of `value`, least significant first (header fields, extra bits).
    pub fn bits(&mut self, value: u32, n: u32) {
        self.buf |= u64::from(value) << self.count;
        self.count += n;
        while self.count >= 8 {
            self.out.push(self.buf as u8);
            self.buf >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code of `n` bits, most significant first.
    pub fn code(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.bits((code >> i) & 1, 1);
        }
    }

    /// The bytes, the last one padded with zeros.
    pub fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.buf as u8);
        }
        self.out
    }
}
