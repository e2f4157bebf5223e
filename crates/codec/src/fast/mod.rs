//! The only module allowed to use `unsafe`, where it buys measured speed: masking with
//! SIMD ([`mask`]) and viewing validated bytes as `str` without validating them again
//! ([`text`]). Each `unsafe` block carries a `SAFETY` comment; both are tested against safe
//! references.

pub(crate) mod mask;
pub(crate) mod text;
