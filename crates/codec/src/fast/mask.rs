//! In-place payload masking (RFC 6455 §5.3).
//!
//! Masking XORs byte `i` of a payload with byte `i % 4` of the 4-byte masking key. It is its own
//! inverse, so the same functions mask and unmask.
//!
//! This is the one module of the workspace allowed to use `unsafe`, and only for SIMD loads and
//! stores: AVX2 (detected at run time, once) and SSE2 on x86_64, NEON on aarch64. Every other
//! target, and every tail shorter than a vector, goes through a safe word-at-a-time loop.

#[cfg(target_arch = "x86_64")]
use std::sync::OnceLock;

/// Buffers shorter than this skip dispatch and go straight to the word loop.
const SMALL: usize = 64;

/// Masks (or unmasks) `buf` in place with `key`: byte `i` is XORed with `key[i % 4]`.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    if buf.len() < SMALL {
        imp::word(buf, key);
    } else {
        (best())(buf, key);
    }
}

/// Masks (or unmasks) `buf` in place as if it started at position `offset` of a payload masked
/// with `key`: byte `i` of `buf` is XORed with `key[(offset + i) % 4]`.
///
/// This lets a payload be unmasked piece by piece as its bytes arrive: pass the number of
/// payload bytes already unmasked as `offset`.
#[inline]
pub fn apply_mask_offset(buf: &mut [u8], key: [u8; 4], offset: usize) {
    apply_mask(buf, rotate_key(key, offset));
}

/// The key that masks a slice starting at payload position `offset` as if from position 0.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // `u32::rotate_right` on the little-endian value moves byte `offset % 4` to the front.
    u32::from_le_bytes(key)
        .rotate_right(8 * (offset % 4) as u32)
        .to_le_bytes()
}

/// The fastest implementation this CPU supports, chosen once.
#[cfg(target_arch = "x86_64")]
#[inline]
fn best() -> imp::MaskFn {
    static BEST: OnceLock<imp::MaskFn> = OnceLock::new();
    *BEST.get_or_init(imp::detect)
}

/// Elsewhere the choice is made at compile time.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn best() -> imp::MaskFn {
    imp::BASELINE
}

/// The individual implementations, so that tests (and a benchmark, once re-exported as
/// `#[doc(hidden)] pub`) can call each one. Every function here is safe to call with any
/// input: the ones that need a CPU feature are only handed out after that feature was
/// detected.
pub(crate) mod imp {
    /// One masking implementation: XOR `buf` in place with `key` repeated from position 0.
    pub(crate) type MaskFn = fn(&mut [u8], [u8; 4]);

    /// Every implementation this CPU can run, by name, the reference byte loop first.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<(&'static str, MaskFn)> {
        let mut all: Vec<(&'static str, MaskFn)> = vec![("bytewise", bytewise), ("word", word)];
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        all.push(("sse2", x86::sse2));
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = x86::avx2() {
            all.push(("avx2", avx2));
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        all.push(("neon", arm::neon));
        all
    }

    /// Picks the fastest implementation the running CPU supports.
    pub(crate) fn detect() -> MaskFn {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = x86::avx2() {
            return avx2;
        }
        BASELINE
    }

    /// The best implementation that needs no run-time detection on this target.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    pub(super) const BASELINE: MaskFn = x86::sse2;
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    pub(super) const BASELINE: MaskFn = arm::neon;
    #[cfg(not(any(
        all(target_arch = "x86_64", target_feature = "sse2"),
        all(target_arch = "aarch64", target_feature = "neon"),
    )))]
    pub(super) const BASELINE: MaskFn = word;

    /// The reference: one byte at a time. Also used for buffers under 16 bytes.
    #[inline]
    pub(crate) fn bytewise(buf: &mut [u8], key: [u8; 4]) {
        // The low byte of `k` is always the key byte for the current position.
        let mut k = u32::from_le_bytes(key);
        for byte in buf {
            *byte ^= k as u8;
            k = k.rotate_right(8);
        }
    }

    /// The portable fallback: eight bytes at a time through a `u64`, then four, then the
    /// byte loop.
    #[inline]
    pub(crate) fn word(buf: &mut [u8], key: [u8; 4]) {
        let narrow = u32::from_ne_bytes(key);
        // The key twice: `[a, b, c, d, a, b, c, d]` read in native order, either endianness.
        let wide = u64::from(narrow) | (u64::from(narrow) << 32);
        // `split_first_chunk_mut` rather than `chunks_exact_mut` and a conversion per chunk:
        // no length check left in the loop (callgrind, per 20 B payload).
        let mut rest = buf;
        while rest.len() >= 8 {
            let whole = std::mem::take(&mut rest);
            if let Some((chunk, tail)) = whole.split_first_chunk_mut::<8>() {
                *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
                rest = tail;
            }
        }
        // 8 is a multiple of 4: the remainder starts at key phase 0 again, and so does what
        // is left after one more word of 4 (short payloads often leave 4 to 7 bytes here).
        if rest.len() >= 4 {
            let whole = std::mem::take(&mut rest);
            if let Some((word, tail)) = whole.split_first_chunk_mut::<4>() {
                *word = (u32::from_ne_bytes(*word) ^ narrow).to_ne_bytes();
                rest = tail;
            }
        }
        bytewise(rest, key);
    }

    /// Splits `buf` at its first byte whose address is a multiple of `align` (or at its end),
    /// if it is at least `min_len` long; shorter buffers are not worth the split.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn split_at_alignment(buf: &mut [u8], align: usize, min_len: usize) -> (&mut [u8], &mut [u8]) {
        let head = if buf.len() < min_len {
            0
        } else {
            buf.as_ptr().align_offset(align).min(buf.len())
        };
        buf.split_at_mut(head)
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::MaskFn;
        use std::arch::x86_64::{
            __m128i, __m256i, _mm_loadu_si128, _mm_storeu_si128, _mm_xor_si128, _mm256_loadu_si256,
            _mm256_storeu_si256, _mm256_xor_si256,
        };

        /// From this length on, the vector loops first walk up to an aligned address:
        /// unaligned vector stores that straddle cache lines cost more than the scalar head
        /// on long buffers, less on short ones (measured on x86_64 with AVX2).
        const ALIGN_MIN: usize = 1024;

        /// The AVX2 implementation, if the running CPU has AVX2.
        pub(super) fn avx2() -> Option<MaskFn> {
            // Checks `cfg!(target_feature = "avx2")` first, then a cached CPUID result.
            if std::arch::is_x86_feature_detected!("avx2") {
                Some(avx2_checked)
            } else {
                None
            }
        }

        /// Safe entry to [`avx2_unchecked`]. Private: it is only handed out by [`avx2`], after
        /// AVX2 was detected.
        fn avx2_checked(buf: &mut [u8], key: [u8; 4]) {
            // SAFETY: this function is private to this module and only escapes as a function
            // pointer returned by `avx2()`, which checks that the CPU supports AVX2 first; that
            // is the only requirement of `avx2_unchecked`.
            unsafe { avx2_unchecked(buf, key) }
        }

        /// Thirty-two bytes at a time from the first 32-byte aligned address on; SSE2 and the
        /// word loop for the unaligned head and the tail.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[target_feature(enable = "avx2")]
        unsafe fn avx2_unchecked(buf: &mut [u8], key: [u8; 4]) {
            let (head, body) = super::split_at_alignment(buf, 32, ALIGN_MIN);
            sse2_blocks(head, key);
            let key = super::super::rotate_key(key, head.len());
            let wide = [key; 8];
            let mut chunks = body.chunks_exact_mut(32);
            for chunk in &mut chunks {
                let ptr = chunk.as_mut_ptr().cast::<__m256i>();
                // SAFETY: `chunk` is exactly 32 bytes of one exclusively borrowed slice, so
                // `ptr` is valid for a 32-byte read and write, and `wide` is 32 bytes on the
                // stack; the `loadu`/`storeu` forms require no alignment. AVX2 is enabled for
                // this function and its caller promised the CPU has it.
                unsafe {
                    let k = _mm256_loadu_si256(wide.as_ptr().cast::<__m256i>());
                    _mm256_storeu_si256(ptr, _mm256_xor_si256(_mm256_loadu_si256(ptr), k));
                }
            }
            // 32 is a multiple of 4: the remainder starts at the same key phase.
            sse2_blocks(chunks.into_remainder(), key);
        }

        /// Sixteen bytes at a time from the first 16-byte aligned address on; the word loop
        /// for the unaligned head and the tail. SSE2 is part of the x86_64 baseline, so no
        /// run-time check is needed.
        #[cfg(target_feature = "sse2")]
        pub(super) fn sse2(buf: &mut [u8], key: [u8; 4]) {
            let (head, body) = super::split_at_alignment(buf, 16, ALIGN_MIN);
            super::word(head, key);
            sse2_blocks(body, super::super::rotate_key(key, head.len()));
        }

        /// Sixteen bytes at a time wherever `buf` starts, then the word loop for the tail.
        #[cfg(target_feature = "sse2")]
        fn sse2_blocks(buf: &mut [u8], key: [u8; 4]) {
            let wide = [key; 4];
            let mut chunks = buf.chunks_exact_mut(16);
            for chunk in &mut chunks {
                let ptr = chunk.as_mut_ptr().cast::<__m128i>();
                // SAFETY: `chunk` is exactly 16 bytes of one exclusively borrowed slice, so
                // `ptr` is valid for a 16-byte read and write, and `wide` is 16 bytes on the
                // stack; the `loadu`/`storeu` forms require no alignment. SSE2 is enabled at
                // compile time (the `cfg` above).
                unsafe {
                    let k = _mm_loadu_si128(wide.as_ptr().cast::<__m128i>());
                    _mm_storeu_si128(ptr, _mm_xor_si128(_mm_loadu_si128(ptr), k));
                }
            }
            // 16 is a multiple of 4: the remainder starts at the same key phase.
            super::word(chunks.into_remainder(), key);
        }

        #[cfg(not(target_feature = "sse2"))]
        pub(super) fn sse2(buf: &mut [u8], key: [u8; 4]) {
            super::word(buf, key);
        }

        #[cfg(not(target_feature = "sse2"))]
        fn sse2_blocks(buf: &mut [u8], key: [u8; 4]) {
            super::word(buf, key);
        }
    }

    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    mod arm {
        use std::arch::aarch64::{veorq_u8, vld1q_u8, vst1q_u8};

        /// Sixteen bytes at a time, then the word loop for the tail. NEON is part of the
        /// aarch64 baseline (the `cfg` on this module checks it at compile time).
        pub(super) fn neon(buf: &mut [u8], key: [u8; 4]) {
            let wide = [key; 4];
            let mut chunks = buf.chunks_exact_mut(16);
            for chunk in &mut chunks {
                let ptr = chunk.as_mut_ptr();
                // SAFETY: `chunk` is exactly 16 bytes of one exclusively borrowed slice, so
                // `ptr` is valid for a 16-byte read and write, and `wide` is 16 bytes on the
                // stack; `vld1q_u8`/`vst1q_u8` need only byte alignment. NEON is enabled at
                // compile time (the `cfg` on this module).
                unsafe {
                    let k = vld1q_u8(wide.as_ptr().cast::<u8>());
                    vst1q_u8(ptr, veorq_u8(vld1q_u8(ptr), k));
                }
            }
            // 16 is a multiple of 4: the remainder starts at key phase 0 again.
            super::word(chunks.into_remainder(), key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEYS: [[u8; 4]; 5] = [
        [0, 0, 0, 0],
        [0xff, 0xff, 0xff, 0xff],
        [0x37, 0xfa, 0x21, 0x3d],
        [0x01, 0x02, 0x03, 0x04],
        [0x80, 0x00, 0x7f, 0xa5],
    ];

    /// The RFC's definition, spelled out: octet i XOR key[(offset + i) mod 4].
    fn reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(131) ^ (i >> 3)) as u8)
            .collect()
    }

    #[test]
    fn detects_the_expected_implementations() {
        let names: Vec<_> = imp::available().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"bytewise") && names.contains(&"word"));
        #[cfg(target_arch = "x86_64")]
        {
            assert!(names.contains(&"sse2"));
            assert_eq!(
                names.contains(&"avx2"),
                std::arch::is_x86_feature_detected!("avx2")
            );
        }
        #[cfg(target_arch = "aarch64")]
        assert!(names.contains(&"neon"));
    }

    /// Every implementation, every start alignment 0..=7, every length 0..=300, several keys.
    #[test]
    fn every_implementation_matches_the_reference_at_every_alignment_and_length() {
        let source = pattern(300 + 64);
        for (name, f) in imp::available() {
            for key in KEYS {
                for align in 0..=7 {
                    for len in 0..=300 {
                        let mut ours = source.clone();
                        let mut want = source.clone();
                        f(&mut ours[align..align + len], key);
                        reference(&mut want[align..align + len], key, 0);
                        assert_eq!(ours, want, "{name} key={key:?} align={align} len={len}");
                    }
                }
            }
        }
    }

    /// Long buffers take the aligned path (a scalar head up to a vector boundary first): every
    /// start address modulo 64, lengths around the threshold and every tail length.
    #[test]
    fn every_implementation_matches_the_reference_on_long_buffers_at_every_alignment() {
        let source = pattern(4096 + 128);
        let mut lens: Vec<usize> = (1000..=1100).collect();
        lens.extend([2048, 2049, 4095, 4096]);
        for (name, f) in imp::available() {
            for align in 0..64 {
                for &len in &lens {
                    let mut ours = source.clone();
                    let mut want = source.clone();
                    f(&mut ours[align..align + len], KEYS[2]);
                    reference(&mut want[align..align + len], KEYS[2], 0);
                    assert!(ours == want, "{name} align={align} len={len}");
                }
            }
        }
    }

    #[test]
    fn dispatcher_matches_the_reference_at_every_alignment_and_length() {
        let source = pattern(300 + 64);
        for key in KEYS {
            for align in 0..=7 {
                for len in 0..=300 {
                    let mut ours = source.clone();
                    let mut want = source.clone();
                    apply_mask(&mut ours[align..align + len], key);
                    reference(&mut want[align..align + len], key, 0);
                    assert_eq!(ours, want, "key={key:?} align={align} len={len}");
                }
            }
        }
    }

    #[test]
    fn offset_rotates_the_key() {
        let source = pattern(300 + 64);
        for key in KEYS {
            for offset in 0..=7 {
                for align in 0..=7 {
                    for len in [0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 300] {
                        let mut ours = source.clone();
                        let mut want = source.clone();
                        apply_mask_offset(&mut ours[align..align + len], key, offset);
                        reference(&mut want[align..align + len], key, offset);
                        assert_eq!(
                            ours, want,
                            "key={key:?} off={offset} align={align} len={len}"
                        );
                    }
                }
            }
        }
        // Large offsets only matter modulo 4.
        let mut a = pattern(40);
        let mut b = a.clone();
        apply_mask_offset(&mut a, KEYS[2], usize::MAX);
        apply_mask_offset(&mut b, KEYS[2], usize::MAX % 4);
        assert_eq!(a, b);
    }

    /// Unmasking a payload piece by piece, as its bytes arrive, equals unmasking it whole.
    #[test]
    fn incremental_unmasking_equals_whole() {
        let key = KEYS[2];
        let payload = pattern(1000);
        let mut whole = payload.clone();
        apply_mask(&mut whole, key);
        for step in [1, 2, 3, 5, 7, 13, 16, 31, 33, 100] {
            let mut pieces = payload.clone();
            let mut done = 0;
            for piece in pieces.chunks_mut(step) {
                let n = piece.len();
                apply_mask_offset(piece, key, done);
                done += n;
            }
            assert_eq!(pieces, whole, "step={step}");
        }
    }

    #[test]
    fn large_buffer_every_implementation() {
        let len = (1 << 20) + 3;
        let source = pattern(len + 8);
        let key = KEYS[2];
        let mut want = source.clone();
        reference(&mut want[1..=len], key, 0);
        for (name, f) in imp::available() {
            let mut ours = source.clone();
            f(&mut ours[1..=len], key);
            assert!(ours == want, "{name}");
        }
        let mut ours = source.clone();
        apply_mask(&mut ours[1..=len], key);
        assert!(ours == want, "dispatcher");
    }

    #[test]
    fn masking_twice_is_the_identity() {
        for (name, f) in imp::available() {
            for key in KEYS {
                for len in [0, 7, 16, 33, 257, 4099] {
                    let original = pattern(len);
                    let mut buf = original.clone();
                    f(&mut buf, key);
                    if key != [0; 4] && len > 0 {
                        assert_ne!(buf, original, "{name}");
                    }
                    f(&mut buf, key);
                    assert_eq!(buf, original, "{name} key={key:?} len={len}");
                }
            }
        }
    }

    #[test]
    fn zero_key_changes_nothing() {
        let original = pattern(1000);
        let mut buf = original.clone();
        apply_mask(&mut buf, [0; 4]);
        assert_eq!(buf, original);
    }

    /// RFC 6455 §5.7: the masked "Hello" example.
    #[test]
    fn rfc_6455_masked_hello() {
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    proptest! {
        #[test]
        fn prop_matches_reference(
            data in proptest::collection::vec(any::<u8>(), 0..2048),
            key in any::<[u8; 4]>(),
            start in 0usize..64,
            offset in any::<usize>(),
        ) {
            let start = start.min(data.len());
            let mut want = data.clone();
            reference(&mut want[start..], key, offset);
            let mut ours = data.clone();
            apply_mask_offset(&mut ours[start..], key, offset);
            prop_assert_eq!(&ours, &want);
            for (name, f) in imp::available() {
                let mut ours = data.clone();
                f(&mut ours[start..], rotate_key(key, offset));
                prop_assert_eq!(&ours, &want, "{}", name);
            }
        }
    }
}
