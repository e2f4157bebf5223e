//! Benchmarks only: see `benches/codec.rs` and this crate's README.
//!
//! Run them with `cargo bench -p wintergreen-codec-bench`.
