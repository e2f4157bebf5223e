//! Our compressor's output is valid for any RFC 7692 receiver: at every window size 8–15
//! (§7.1.2), with and without context takeover (§7.1.1), at every level, whole and
//! fragmented, across several messages, two RFC 1951 decoders independent of zlib
//! (`common::puff` and miniz_oxide) read it back, never reaching further back than the
//! agreed window.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use common::miniz::Reference;
use common::{compress_each, json_like, noise, puff};
use wintergreen_deflate::WindowBits;

/// Messages longer and shorter than every window, some repeating earlier ones.
fn messages() -> Vec<Vec<u8>> {
    let period = noise(11, 700);
    vec![
        b"Hello".to_vec(),
        json_like(1, 300).into_bytes(),
        period.iter().copied().cycle().take(9_000).collect(),
        json_like(2, 40_000).into_bytes(),
        Vec::new(),
        json_like(1, 300).into_bytes(),
        noise(12, 2_000),
        period.iter().copied().cycle().take(3_000).collect(),
    ]
}

#[test]
fn our_output_decodes_in_an_independent_inflater_at_every_window_and_level() {
    let messages = messages();
    let all: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    for bits in 8..=15 {
        let window = WindowBits::new(bits).unwrap();
        for level in [0, 1, 6, 9] {
            for no_context_takeover in [false, true] {
                for fragmented in [false, true] {
                    let what = format!(
                        "bits {bits} level {level} no takeover {no_context_takeover} fragmented {fragmented}"
                    );
                    let payloads =
                        compress_each(window, level, no_context_takeover, &all, fragmented);
                    // Message by message over one window, by miniz_oxide.
                    let mut reference = Reference::default();
                    for (payload, message) in payloads.iter().zip(&all) {
                        let out = reference
                            .inflate(&[payload.as_slice(), &[0x00, 0x00, 0xff, 0xff]].concat())
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert!(out == *message, "{what}");
                    }
                    // As one stream, the way a receiver with context takeover reads it.
                    let stream: Vec<u8> = payloads
                        .iter()
                        .flat_map(|p| [p.as_slice(), &[0x00, 0x00, 0xff, 0xff]].concat())
                        .collect();
                    let decoded = puff::inflate(&stream).unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert!(decoded.output == all.concat(), "{what}");
                    assert!(
                        decoded.max_distance <= window.window_size(),
                        "{what}: distance {}",
                        decoded.max_distance
                    );
                    if no_context_takeover {
                        // Each message on its own, as a receiver that resets reads it.
                        for (payload, message) in payloads.iter().zip(&all) {
                            let alone =
                                puff::inflate(&[payload.as_slice(), &[0, 0, 0xff, 0xff]].concat())
                                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                            assert!(alone.output == *message, "{what}");
                        }
                    }
                }
            }
        }
    }
}
