//! The parts of the end-to-end benchmarks that are not a peer library: the library-free floor
//! (a hand-made HTTP/1.1 upgrade and the least per-message work RFC 6455 allows), what the
//! benchmarks read from `/proc`, the server and client child processes, and the statistics
//! of the reports. The benchmark programs are `benches/e2e/` (`cargo xtask bench e2e`) and
//! `benches/scale/` (`cargo xtask bench scale`).

pub mod floor;
pub mod host;
pub mod markdown;
pub mod procs;
pub mod stats;
pub mod sys;
