//! The parts of the end-to-end benchmark that are not a peer library: the library-free floor
//! (a hand-made HTTP/1.1 upgrade and the least per-message work RFC 6455 allows) and what the
//! benchmark reads from `/proc`. The benchmark itself is `benches/e2e/`, run by
//! `cargo xtask bench e2e`; `benches/h2/` is `cargo xtask bench h2`. [`child`] runs
//! the child processes of a measurement for both.

pub mod child;
pub mod floor;
pub mod meta;
pub mod stats;
pub mod sys;
