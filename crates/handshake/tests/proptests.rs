//! Property tests of the extension-header grammar: no bytes make it panic, and what it
//! writes it reads back.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

use proptest::prelude::*;
use wintergreen_codec::ExtensionParams;
use wintergreen_handshake::headers::{parse_extensions, write_extensions};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,8}"
}

fn element() -> impl Strategy<Value = ExtensionParams> {
    let value = prop_oneof![
        Just(None),
        token().prop_map(Some),
        "[ -~\t]{0,8}".prop_map(Some)
    ];
    (token(), proptest::collection::vec((token(), value), 0..4)).prop_map(|(name, params)| {
        params
            .into_iter()
            .fold(ExtensionParams::new(name), |e, (n, v)| e.param(n, v))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extension_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_extensions(&bytes);
    }

    #[test]
    fn extension_header_round_trips(elements in proptest::collection::vec(element(), 1..4)) {
        let written = write_extensions(&elements).unwrap();
        prop_assert_eq!(parse_extensions(written.as_bytes()).unwrap(), elements);
    }
}
