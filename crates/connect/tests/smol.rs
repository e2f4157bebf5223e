#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The round-trip suite on smol.

mod suite;

suite!(smol::block_on, std::sync::Arc::new(wintergreen_smol::Smol));
