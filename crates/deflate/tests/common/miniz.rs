//! A second independent RFC 1951 decoder for tests: miniz_oxide (no zlib code), driven the way
//! a permessage-deflate receiver reads a connection: one 32 KiB window shared by all messages,
//! and after a stream ends (BFINAL), the next bytes start a new stream over the same window.

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

const WINDOW: usize = 1 << 15;

/// A connection's receiving side, as miniz_oxide reads it.
pub struct Reference {
    decompressor: Box<DecompressorOxide>,
    window: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl Default for Reference {
    fn default() -> Self {
        Self {
            decompressor: Box::default(),
            window: vec![0; WINDOW],
            pos: 0,
            ended: false,
        }
    }
}

impl Reference {
    /// Inflates the next message's DEFLATE data (its payload with the stripped tail put
    /// back, and nothing after a stream's end); it must end at a block boundary.
    pub fn inflate(&mut self, mut input: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        loop {
            if self.ended {
                if input.is_empty() {
                    return Ok(out);
                }
                self.decompressor.init();
                self.ended = false;
            }
            let (status, consumed, written) = decompress(
                &mut self.decompressor,
                input,
                &mut self.window,
                self.pos,
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT,
            );
            for i in 0..written {
                out.push(self.window[(self.pos + i) % WINDOW]);
            }
            self.pos = (self.pos + written) % WINDOW;
            input = &input[consumed..];
            match status {
                TINFLStatus::Done => self.ended = true,
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::NeedsMoreInput if input.is_empty() => return Ok(out),
                other => return Err(format!("{other:?} with {} bytes left", input.len())),
            }
        }
    }
}
