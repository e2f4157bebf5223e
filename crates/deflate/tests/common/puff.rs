//! A small, slow, independent raw-DEFLATE decoder (RFC 1951) for tests: it checks a stream
//! bit by bit and reports the longest back-reference distance, which zlib cannot tell us.

/// What a stream decoded to.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The output.
    pub output: Vec<u8>,
    /// The longest back-reference distance used.
    pub max_distance: usize,
    /// Blocks seen, by type: stored, fixed, dynamic.
    pub blocks: [usize; 3],
}

struct Bits<'a> {
    input: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<u32, String> {
        while self.count < n {
            let byte = *self.input.get(self.pos).ok_or("input ends mid-stream")?;
            self.pos += 1;
            self.buf |= u64::from(byte) << self.count;
            self.count += 8;
        }
        let value = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.count -= n;
        Ok(value)
    }

    fn align(&mut self) {
        let drop = self.count % 8;
        self.buf >>= drop;
        self.count -= drop;
    }

    fn at_end(&self) -> bool {
        self.pos == self.input.len() && self.count < 8 && self.buf == 0
    }
}

struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, String> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            counts[len as usize] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return Err("over-subscribed code".into());
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len != 0 {
                symbols[offsets[len as usize] as usize] = symbol as u16;
                offsets[len as usize] += 1;
            }
        }
        Ok(Self { counts, symbols })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.need(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return Ok(self.symbols[(index + (code - first)) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
    }
}

pub const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
pub const LENGTH_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
pub const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
pub const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Decoded,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), String> {
    loop {
        let symbol = lit.decode(bits)?;
        match symbol {
            0..=255 => out.output.push(symbol as u8),
            256 => return Ok(()),
            257..=285 => {
                let i = usize::from(symbol - 257);
                let len = usize::from(LENGTH_BASE[i]) + bits.need(LENGTH_EXTRA[i])? as usize;
                let d = usize::from(dist.decode(bits)?);
                if d >= 30 {
                    return Err("invalid distance code".into());
                }
                let distance = usize::from(DIST_BASE[d]) + bits.need(DIST_EXTRA[d])? as usize;
                if distance > out.output.len() {
                    return Err(format!("distance {distance} too far back"));
                }
                out.max_distance = out.max_distance.max(distance);
                for _ in 0..len {
                    let byte = out.output[out.output.len() - distance];
                    out.output.push(byte);
                }
            }
            _ => return Err("invalid literal/length code".into()),
        }
    }
}

/// Decodes a raw DEFLATE stream made of whole blocks (it may end without BFINAL, after a
/// sync flush), continuing after a BFINAL block when more input follows.
pub fn inflate(input: &[u8]) -> Result<Decoded, String> {
    let mut bits = Bits {
        input,
        pos: 0,
        buf: 0,
        count: 0,
    };
    let mut out = Decoded::default();
    let fixed_lit = {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        Huffman::new(&lengths)?
    };
    let fixed_dist = Huffman::new(&[5u8; 30])?;
    while !bits.at_end() {
        let _last = bits.need(1)?;
        match bits.need(2)? {
            0 => {
                out.blocks[0] += 1;
                bits.align();
                let len = bits.need(16)?;
                let nlen = bits.need(16)?;
                if len != !nlen & 0xffff {
                    return Err("stored block length mismatch".into());
                }
                for _ in 0..len {
                    out.output.push(bits.need(8)? as u8);
                }
            }
            1 => {
                out.blocks[1] += 1;
                codes(&mut bits, &mut out, &fixed_lit, &fixed_dist)?;
            }
            2 => {
                out.blocks[2] += 1;
                let nlen = bits.need(5)? as usize + 257;
                let ndist = bits.need(5)? as usize + 1;
                let ncode = bits.need(4)? as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut lengths = [0u8; 19];
                for &i in &ORDER[..ncode] {
                    lengths[i] = bits.need(3)? as u8;
                }
                let lencode = Huffman::new(&lengths)?;
                let mut all = Vec::with_capacity(nlen + ndist);
                while all.len() < nlen + ndist {
                    let symbol = lencode.decode(&mut bits)?;
                    let (value, repeat) = match symbol {
                        0..=15 => (symbol as u8, 1),
                        16 => (
                            *all.last().ok_or("repeat with no previous length")?,
                            3 + bits.need(2)?,
                        ),
                        17 => (0, 3 + bits.need(3)?),
                        _ => (0, 11 + bits.need(7)?),
                    };
                    for _ in 0..repeat {
                        all.push(value);
                    }
                }
                if all.len() != nlen + ndist {
                    return Err("too many code lengths".into());
                }
                let lit = Huffman::new(&all[..nlen])?;
                let dist = Huffman::new(&all[nlen..])?;
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            _ => return Err("invalid block type".into()),
        }
        // After a block that ends a stream, the next one (if any) starts on a byte boundary
        // (RFC 7692 §7.2.1: padding after BFINAL).
        if _last == 1 {
            bits.align();
        }
    }
    Ok(out)
}
