//! Where a session's mask keys come from (RFC 6455 §5.3).
//!
//! A client masks every frame with a fresh key that the server must not be able to predict,
//! "derived from a strong source of entropy". A generator per session would be the simple
//! shape, but a ChaCha generator with its block buffer is 320 bytes: a third of an idle
//! client connection. So a client asks its thread's generator (rand's `ThreadRng`: ChaCha,
//! seeded from the operating system and reseeded periodically) for each key and holds
//! nothing; only a seeded session (tests, fuzz replays) owns a generator, so that its output
//! is reproducible whatever thread it runs on.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::config::Role;

/// The source of one session's mask keys.
#[derive(Debug)]
pub(super) enum MaskKeys {
    /// A server: it never masks (RFC 6455 §5.1).
    Unmasked,
    /// A client: each key from the thread's CSPRNG; no state in the session.
    ThreadRng,
    /// A client with a seed: its own generator, for reproducible output.
    Seeded(Box<StdRng>),
}

impl MaskKeys {
    /// The source for `role`, seeded by `seed` when given (a server ignores it).
    pub(super) fn new(role: Role, seed: Option<u64>) -> Self {
        match (role, seed) {
            (Role::Server, _) => Self::Unmasked,
            (Role::Client, Some(seed)) => Self::Seeded(Box::new(StdRng::seed_from_u64(seed))),
            (Role::Client, None) => Self::ThreadRng,
        }
    }

    /// The key for the next frame, or `None` for a server.
    #[inline]
    pub(super) fn next_key(&mut self) -> Option<[u8; 4]> {
        match self {
            Self::Unmasked => None,
            Self::ThreadRng => Some(rand::rng().next_u32().to_ne_bytes()),
            Self::Seeded(rng) => Some(rng.next_u32().to_ne_bytes()),
        }
    }

    /// Whether frames are masked (a client's source).
    #[cfg(test)]
    pub(super) fn masks(&self) -> bool {
        !matches!(self, Self::Unmasked)
    }
}

#[cfg(test)]
mod tests {
    use super::MaskKeys;
    use crate::config::Role;

    #[test]
    fn a_server_never_masks_even_with_a_seed() {
        let mut keys = MaskKeys::new(Role::Server, Some(1));
        assert!(!keys.masks());
        assert_eq!(keys.next_key(), None);
    }

    #[test]
    fn a_seeded_client_repeats_its_keys() {
        let keys = |seed| {
            let mut source = MaskKeys::new(Role::Client, Some(seed));
            (0..8)
                .map(|_| source.next_key().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(7), keys(7));
        assert_ne!(keys(7), keys(8));
    }

    #[test]
    fn an_unseeded_client_holds_no_generator_and_its_keys_vary() {
        let mut source = MaskKeys::new(Role::Client, None);
        assert!(matches!(source, MaskKeys::ThreadRng));
        let keys: std::collections::HashSet<_> = (0..64)
            .map(|_| source.next_key().unwrap_or_default())
            .collect();
        // 64 draws of 32 random bits: all distinct but with probability ~5e-7.
        assert!(keys.len() >= 63, "{} distinct keys of 64", keys.len());
    }
}
