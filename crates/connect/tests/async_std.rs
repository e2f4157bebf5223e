#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The round-trip suite on async-std.

mod suite;

suite!(
    async_std::task::block_on,
    std::sync::Arc::new(wintergreen_async_std::AsyncStd)
);
