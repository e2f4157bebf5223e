//! UTF-8 validation of text messages: whole buffers, and incremental across fragments and reads
//! (RFC 6455 §5.6, §8.1).
//!
//! The incremental validator fails fast: it reports an error with the first chunk after which
//! the bytes seen so far can no longer be the beginning of valid UTF-8, not at the end of the
//! message. A code point split across chunks is carried over (at most three bytes).

use std::fmt;

/// The bytes are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for Utf8Error {}

/// Validates a complete buffer.
#[inline]
pub(crate) fn validate(bytes: &[u8]) -> Result<(), Utf8Error> {
    simdutf8::basic::from_utf8(bytes)
        .map(drop)
        .map_err(|_| Utf8Error)
}

/// Validates a message chunk by chunk as it arrives.
///
/// Feed each chunk with [`feed`](Self::feed) and end the message with
/// [`finish`](Self::finish). After an error the validator is reset.
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8Validator {
    /// The start of a code point the previous chunks ended in; only `partial[..len]` is used.
    partial: [u8; 4],
    /// 0 when the previous chunks ended on a code point boundary, else 1..=3.
    len: u8,
}

impl Utf8Validator {
    /// Validates `chunk` as the continuation of the chunks fed before it.
    ///
    /// Fails as soon as the bytes fed so far cannot be the beginning of valid UTF-8. A chunk
    /// that ends inside a code point that could still be completed is accepted; the missing
    /// bytes are expected at the start of the next chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        let result = self.feed_inner(chunk);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        let mut rest = chunk;
        if self.len > 0 {
            // Complete the pending code point with as many bytes as it still needs.
            let have = usize::from(self.len);
            let need = sequence_width(self.partial[0]).saturating_sub(have);
            let (head, tail) = rest.split_at(need.min(rest.len()));
            let mut sequence = self.partial;
            for (slot, byte) in sequence.iter_mut().skip(have).zip(head) {
                *slot = *byte;
            }
            let filled = have + head.len();
            let sequence = sequence.get(..filled).ok_or(Utf8Error)?;
            match simdutf8::compat::from_utf8(sequence) {
                Ok(_) => {
                    self.len = 0;
                    rest = tail;
                }
                // Still a valid beginning, and the chunk is used up: keep waiting.
                Err(e) if e.error_len().is_none() && tail.is_empty() => {
                    return self.carry(sequence);
                }
                Err(_) => return Err(Utf8Error),
            }
        }
        match simdutf8::compat::from_utf8(rest) {
            Ok(_) => Ok(()),
            // The chunk ends in the valid beginning of a code point: carry it over.
            Err(e) if e.error_len().is_none() => {
                self.carry(rest.get(e.valid_up_to()..).ok_or(Utf8Error)?)
            }
            Err(_) => Err(Utf8Error),
        }
    }

    /// Keeps `bytes`, the valid beginning of one code point (1..=3 bytes), for the next chunk.
    fn carry(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        if bytes.is_empty() || bytes.len() > 3 {
            return Err(Utf8Error);
        }
        for (slot, byte) in self.partial.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        self.len = bytes.len() as u8;
        Ok(())
    }

    /// Ends the message: fails if it ended inside a code point. Resets the validator.
    pub(crate) fn finish(&mut self) -> Result<(), Utf8Error> {
        let pending = self.len > 0;
        self.reset();
        if pending { Err(Utf8Error) } else { Ok(()) }
    }

    /// Forgets any pending partial code point.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

/// The length of the UTF-8 sequence a lead byte starts (for a lead byte that passed validation
/// as the start of a multi-byte sequence: 2, 3 or 4).
#[inline]
fn sequence_width(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0x80..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether `bytes` is valid UTF-8 or the beginning of valid UTF-8, according to std.
    fn prefix_ok(bytes: &[u8]) -> bool {
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        }
    }

    fn whole_ok(bytes: &[u8]) -> bool {
        std::str::from_utf8(bytes).is_ok()
    }

    /// Feeds `chunks` one by one, checking each verdict against std on the bytes seen so far
    /// (so an error must come with the first chunk that makes the prefix invalid, and no
    /// earlier), then `finish` against std on the whole.
    fn check_chunks(chunks: &[&[u8]]) {
        let mut v = Utf8Validator::default();
        let mut seen = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            seen.extend_from_slice(chunk);
            let got = v.feed(chunk);
            assert_eq!(
                got.is_ok(),
                prefix_ok(&seen),
                "chunk {i} of {chunks:x?}: seen so far {seen:x?}"
            );
            if got.is_err() {
                // Fail fast: it failed with the first bad chunk. Nothing more to check.
                assert_eq!(v.len, 0, "reset after an error");
                return;
            }
        }
        assert_eq!(v.finish().is_ok(), whole_ok(&seen), "finish of {chunks:x?}");
        assert_eq!(v.len, 0, "finish resets");
    }

    fn check_vector(bytes: &[u8]) {
        assert_eq!(
            validate(bytes).is_ok(),
            whole_ok(bytes),
            "validate {bytes:x?}"
        );
        // Whole.
        check_chunks(&[bytes]);
        // One byte at a time.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        check_chunks(&singles);
        // Every split in two, and (for short vectors) in three, empty chunks included.
        for i in 0..=bytes.len() {
            let (a, b) = bytes.split_at(i);
            check_chunks(&[a, b]);
            if bytes.len() <= 40 {
                for j in i..=bytes.len() {
                    check_chunks(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
                }
            }
        }
        // Chunks of every small size.
        for size in 2..=5 {
            let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
            check_chunks(&chunks);
        }
    }

    /// Test vectors after Autobahn|Testsuite cases 6.x, and a few more, with std's verdict
    /// stated explicitly so that the vectors themselves are checked too.
    fn vectors() -> Vec<(&'static str, Vec<u8>, bool)> {
        let kosme = "κόσμε".as_bytes().to_vec();
        let mut v: Vec<(&'static str, Vec<u8>, bool)> = vec![
            ("6.1 empty", vec![], true),
            (
                "6.2 valid",
                "Hello-µ@ßöäüàá-UTF-8!!".as_bytes().to_vec(),
                true,
            ),
            ("6.3/6.5 kosme", kosme.clone(), true),
            ("6.7 first 1-byte", vec![0x00], true),
            ("6.7 first 2-byte", vec![0xc2, 0x80], true),
            ("6.7 first 3-byte", vec![0xe0, 0xa0, 0x80], true),
            ("6.7 first 4-byte", vec![0xf0, 0x90, 0x80, 0x80], true),
            (
                "6.8 first 5-byte",
                vec![0xf8, 0x88, 0x80, 0x80, 0x80],
                false,
            ),
            (
                "6.8 first 6-byte",
                vec![0xfc, 0x84, 0x80, 0x80, 0x80, 0x80],
                false,
            ),
            ("6.9 last 1-byte", vec![0x7f], true),
            ("6.9 last 2-byte", vec![0xdf, 0xbf], true),
            ("6.9 last 3-byte", vec![0xef, 0xbf, 0xbf], true),
            (
                "6.9 last 4-byte U+10FFFF",
                vec![0xf4, 0x8f, 0xbf, 0xbf],
                true,
            ),
            ("6.10 last 4-byte form", vec![0xf7, 0xbf, 0xbf, 0xbf], false),
            (
                "6.10 last 5-byte",
                vec![0xfb, 0xbf, 0xbf, 0xbf, 0xbf],
                false,
            ),
            (
                "6.10 last 6-byte",
                vec![0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf],
                false,
            ),
            ("6.11 U+D7FF", vec![0xed, 0x9f, 0xbf], true),
            ("6.11 U+E000", vec![0xee, 0x80, 0x80], true),
            ("6.11 U+FFFD", vec![0xef, 0xbf, 0xbd], true),
            ("6.11 U+110000", vec![0xf4, 0x90, 0x80, 0x80], false),
            ("F4 90 prefix", vec![0xf4, 0x90], false),
            ("6.12 lone continuation 80", vec![0x80], false),
            ("6.12 lone continuation BF", vec![0xbf], false),
            ("6.12 continuation 80 BF", vec![0x80, 0xbf], false),
            ("6.12 continuation x3", vec![0x80, 0xbf, 0x80], false),
            ("6.12 continuation x4", vec![0x80, 0xbf, 0x80, 0xbf], false),
            (
                "6.12 continuation after valid",
                vec![b'a', 0xc2, 0x80, 0x80],
                false,
            ),
            ("6.14 C0 lone", vec![0xc0], false),
            ("6.14 C1 lone", vec![0xc1], false),
            ("6.14 E0 80 truncated overlong", vec![0xe0, 0x80], false),
            ("6.14 F0 80 80 truncated", vec![0xf0, 0x80, 0x80], false),
            ("6.14 DF truncated", vec![0xdf], false),
            ("6.14 EF BF truncated", vec![0xef, 0xbf], false),
            ("6.14 F4 8F BF truncated", vec![0xf4, 0x8f, 0xbf], false),
            ("6.14 F7 BF BF truncated", vec![0xf7, 0xbf, 0xbf], false),
            ("E0 A0 truncated", vec![0xe0, 0xa0], false),
            ("F0 90 80 truncated", vec![0xf0, 0x90, 0x80], false),
            ("truncated then ASCII", vec![0xe2, 0x82, b'a'], false),
            ("6.16 FE", vec![0xfe], false),
            ("6.16 FF", vec![0xff], false),
            ("6.16 FE FE FF FF", vec![0xfe, 0xfe, 0xff, 0xff], false),
            ("F5", vec![0xf5], false),
            ("F5 80 80 80", vec![0xf5, 0x80, 0x80, 0x80], false),
            ("6.17 overlong / 2", vec![0xc0, 0xaf], false),
            ("6.17 overlong / 3", vec![0xe0, 0x80, 0xaf], false),
            ("6.17 overlong / 4", vec![0xf0, 0x80, 0x80, 0xaf], false),
            (
                "6.17 overlong / 5",
                vec![0xf8, 0x80, 0x80, 0x80, 0xaf],
                false,
            ),
            (
                "6.17 overlong / 6",
                vec![0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf],
                false,
            ),
            ("6.18 max overlong 2", vec![0xc1, 0xbf], false),
            ("6.18 max overlong 3", vec![0xe0, 0x9f, 0xbf], false),
            ("6.18 max overlong 4", vec![0xf0, 0x8f, 0xbf, 0xbf], false),
            ("6.19 overlong NUL 2", vec![0xc0, 0x80], false),
            ("6.19 overlong NUL 3", vec![0xe0, 0x80, 0x80], false),
            ("6.19 overlong NUL 4", vec![0xf0, 0x80, 0x80, 0x80], false),
            ("6.20 U+D800", vec![0xed, 0xa0, 0x80], false),
            ("6.20 U+DB7F", vec![0xed, 0xad, 0xbf], false),
            ("6.20 U+DB80", vec![0xed, 0xae, 0x80], false),
            ("6.20 U+DBFF", vec![0xed, 0xaf, 0xbf], false),
            ("6.20 U+DC00", vec![0xed, 0xb0, 0x80], false),
            ("6.20 U+DF80", vec![0xed, 0xbe, 0x80], false),
            ("6.20 U+DFFF", vec![0xed, 0xbf, 0xbf], false),
            ("ED A0 prefix", vec![0xed, 0xa0], false),
            (
                "6.21 U+D800 U+DC00",
                vec![0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80],
                false,
            ),
            (
                "6.21 U+DBFF U+DFFF",
                vec![0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf],
                false,
            ),
            ("6.22 U+FFFE", vec![0xef, 0xbf, 0xbe], true),
            ("6.22 U+FFFF", vec![0xef, 0xbf, 0xbf], true),
            ("6.22 U+1FFFE", vec![0xf0, 0x9f, 0xbf, 0xbe], true),
            ("6.22 U+10FFFE", vec![0xf4, 0x8f, 0xbf, 0xbe], true),
            (
                "6.23 U+FFFD twice",
                "\u{fffd}\u{fffd}".as_bytes().to_vec(),
                true,
            ),
            (
                "mixed widths",
                "a\u{80}\u{800}\u{10000}\u{10ffff}z€𝄞".as_bytes().to_vec(),
                true,
            ),
        ];
        // 6.4: fail fast on a long message with a bad sequence in the middle.
        let mut bad_middle = kosme.clone();
        bad_middle.extend_from_slice(&[0xed, 0xa0, 0x80]);
        bad_middle.extend_from_slice(b"edited");
        v.push(("6.4 kosme + surrogate + edited", bad_middle, false));
        let mut f4_middle = kosme.clone();
        f4_middle.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80]);
        f4_middle.extend_from_slice(b"edited");
        v.push(("6.4 kosme + F4 90 80 80 + edited", f4_middle, false));
        // 6.13: lonely start bytes, each followed by a space.
        let mut lonely = Vec::new();
        for lead in 0xc0..=0xdf_u8 {
            lonely.extend_from_slice(&[lead, b' ']);
        }
        v.push(("6.13 lonely 2-byte starts", lonely, false));
        v.push(("6.13 lonely E0 space", vec![0xe0, b' '], false));
        v.push(("6.13 lonely F0 space", vec![0xf0, b' '], false));
        // 6.15: concatenation of incomplete sequences.
        v.push((
            "6.15 concatenated incomplete",
            vec![
                0xc0, 0xe0, 0x80, 0xf0, 0x80, 0x80, 0xdf, 0xef, 0xbf, 0xf7, 0xbf, 0xbf,
            ],
            false,
        ));
        // Every non-ASCII code point width, long enough to cross the SIMD block size.
        let long: String = "κόσμε€𝄞ab".repeat(20);
        v.push(("long valid", long.as_bytes().to_vec(), true));
        let mut long_bad = long.as_bytes().to_vec();
        long_bad.push(0xc3);
        v.push(("long valid then truncated", long_bad, false));
        v
    }

    #[test]
    fn vectors_match_std_whole_and_at_every_split() {
        for (name, bytes, valid) in vectors() {
            assert_eq!(whole_ok(&bytes), valid, "vector {name} expectation");
            check_vector(&bytes);
        }
    }

    /// The errors that must be caught before the message (or even the code point) ends.
    #[test]
    fn fails_fast_on_impossible_prefixes() {
        for bad in [
            &[0xf5][..],
            &[0xff],
            &[0xc0],
            &[0xc1],
            &[0x80],
            &[0xed, 0xa0],
            &[0xe0, 0x80],
            &[0xe0, 0x9f],
            &[0xf0, 0x80],
            &[0xf0, 0x8f],
            &[0xf4, 0x90],
            &[0xe2, b'a'],
        ] {
            let mut v = Utf8Validator::default();
            assert_eq!(v.feed(bad), Err(Utf8Error), "{bad:x?} in one chunk");
            // The same when the bad byte continues a code point carried over from before.
            let mut v = Utf8Validator::default();
            let (first, last) = bad.split_at(bad.len() - 1);
            assert_eq!(v.feed(b"ok"), Ok(()));
            assert_eq!(
                v.feed(first),
                Ok(()),
                "{bad:x?}: {first:x?} is still a valid prefix"
            );
            assert_eq!(
                v.feed(last),
                Err(Utf8Error),
                "{bad:x?} split before the last byte"
            );
        }
    }

    #[test]
    fn carry_over_across_many_chunks() {
        let mut v = Utf8Validator::default();
        // U+1D11E, one byte per chunk, with empty chunks in between.
        for byte in [0xf0, 0x9d, 0x84, 0x9e] {
            assert_eq!(v.feed(&[]), Ok(()));
            assert_eq!(v.feed(&[byte]), Ok(()));
        }
        assert_eq!(v.finish(), Ok(()));
        // A carried code point completed by the start of a longer chunk.
        assert_eq!(v.feed(&[0xe2]), Ok(()));
        assert_eq!(v.feed(&[0x82, 0xac, b'a', 0xce, 0xba]), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn finish_fails_on_pending_code_point_and_resets() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(&[b'a', 0xe2, 0x82]), Ok(()));
        assert_eq!(v.finish(), Err(Utf8Error));
        // Reset: the next message starts clean.
        assert_eq!(v.feed(b"hello"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn reset_forgets_pending_bytes() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(&[0xf0, 0x9f]), Ok(()));
        v.reset();
        assert_eq!(v.feed(b"x"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn validator_is_reset_after_an_error() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(&[0xe2, 0x82]), Ok(()));
        assert_eq!(v.feed(&[0xff]), Err(Utf8Error));
        assert_eq!(v.feed(b"fresh"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn error_displays() {
        assert_eq!(Utf8Error.to_string(), "invalid UTF-8");
        let _: &dyn std::error::Error = &Utf8Error;
    }

    /// Bytes that are mostly UTF-8 with some damage: random code points, random bytes, and
    /// pieces of code points.
    fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            1 => any::<u8>().prop_map(|b| vec![b]),
            1 => (any::<char>(), 1usize..4).prop_map(|(c, n)| {
                let bytes = c.to_string().into_bytes();
                bytes[..n.min(bytes.len())].to_vec()
            }),
            1 => proptest::sample::select(vec![
                vec![0xed, 0xa0], vec![0xf4, 0x90], vec![0xe0, 0x80], vec![0xf0, 0x8f],
                vec![0xc0], vec![0xc1], vec![0xf5], vec![0xfe], vec![0x80],
            ]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn prop_random_splits_agree_with_std(
            bytes in prop_oneof![utf8ish(), proptest::collection::vec(any::<u8>(), 0..64)],
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.push(0);
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
            check_chunks(&chunks);
        }

        #[test]
        fn prop_validate_agrees_with_std(bytes in prop_oneof![utf8ish(), proptest::collection::vec(any::<u8>(), 0..256)]) {
            prop_assert_eq!(validate(&bytes).is_ok(), whole_ok(&bytes));
        }
    }
}
