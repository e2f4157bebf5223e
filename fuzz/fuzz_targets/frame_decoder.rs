//! The frame decoder (RFC 6455 §5.2) fed arbitrary bytes in arbitrary chunks.
//!
//! Invariants: the frames (and the error, if any) do not depend on how the bytes were split;
//! no frame's payload exceeds the decoder's limit; the heap grows by at most the limit plus
//! the decoder's read headroom and the input itself.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wintergreen_codec::{FrameDecoder, FrameHeader, ProtocolError};

// Per run: the limit (≤ 64 KiB), the decoder's read headroom (128 KiB, doubled by the
// buffer's growth) and the input (≤ 4 KiB); two runs are alive at once. Plus slack.
const BUDGET: usize = 2 * ((64 << 10) + 2 * (128 << 10) + (4 << 10)) + (256 << 10);

wintergreen_fuzz::budget!(BUDGET);

#[derive(Debug, Arbitrary)]
struct Input {
    max_frame_size: u16,
    cuts: Vec<u16>,
    bytes: Vec<u8>,
}

/// A decoded frame, its payload copied out: a zero-copy payload would pin the decoder's
/// buffer, and what the application keeps alive is the application's memory, not the
/// decoder's (the budget below is the decoder's).
type Decoded = (FrameHeader, Vec<u8>);

fn decode_all(max: usize, pieces: &[&[u8]]) -> (Vec<Decoded>, Option<ProtocolError>) {
    let mut decoder = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(
                        frame.payload.len() <= max,
                        "a frame over the limit was decoded"
                    );
                    frames.push((frame.header, frame.payload.to_vec()));
                }
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|input: Input| {
    let max = usize::from(input.max_frame_size);
    with_budget(|| {
        let whole = decode_all(max, &[&input.bytes]);
        let pieces = wintergreen_fuzz::split_at_cuts(&input.bytes, &input.cuts);
        let split = decode_all(max, &pieces);
        assert_eq!(
            whole, split,
            "the split of the input changed what was decoded"
        );
    });
});
