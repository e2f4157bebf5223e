//! Properties of the receiving side (RFC 7692 §7.2.2): how a message is split into frames
//! never changes what it inflates to, and no input, however malformed, makes it panic or
//! fail with anything but 1007 (invalid data) or 1009 (too big), within the limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests

mod common;

use bytes::BytesMut;
use common::shapes::{Sender, Shape};
use common::{json_like, noise};
use proptest::prelude::*;
use wintergreen_codec::{CloseCode, Extension, Role, Rsv};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateParams, WindowBits};

fn receiver(bits: u8, takeover: bool) -> Deflate {
    let window = WindowBits::new(bits).unwrap();
    let params = DeflateParams::new(false, !takeover, WindowBits::MAX, window);
    Deflate::new(Role::Server, params, &DeflateConfig::default())
}

/// Feeds `payload` as one message, cut at `cuts` (fractions of its length, in any order).
fn feed(
    receiver: &mut Deflate,
    payload: &[u8],
    cuts: &[f64],
    limit: usize,
) -> Result<Vec<u8>, wintergreen_codec::ExtensionError> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|f| (f * payload.len() as f64) as usize)
        .collect();
    at.push(0);
    at.push(payload.len());
    at.sort_unstable();
    assert!(receiver.decode_start(Rsv::RSV1));
    let mut out = BytesMut::new();
    let mut room = limit;
    for (i, pair) in at.windows(2).enumerate() {
        let fin = i + 2 == at.len();
        let before = out.len();
        receiver.decode(&payload[pair[0]..pair[1]], fin, &mut out, room)?;
        let produced = out.len() - before;
        assert!(produced <= room, "{produced} bytes past a room of {room}");
        room -= produced;
    }
    Ok(out.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_frame_split_of_any_shape_conversation_inflates_the_same(
        bits in 8u8..=15,
        takeover in any::<bool>(),
        script in prop::collection::vec((0..Shape::ALL.len(), 0usize..6_000, any::<u64>()), 1..12),
        cuts in prop::collection::vec(prop::collection::vec(0.0f64..=1.0, 0..4), 12),
    ) {
        let mut sender = Sender::new(bits, takeover);
        let mut whole = receiver(bits, takeover);
        let mut split = receiver(bits, takeover);
        for (i, &(shape, len, seed)) in script.iter().enumerate() {
            let data = if seed % 2 == 0 { json_like(seed, len).into_bytes() } else { noise(seed, len) };
            let sent = sender.send(Shape::ALL[shape], &data);
            let one = feed(&mut whole, &sent.wire, &[], usize::MAX).unwrap();
            let many = feed(&mut split, &sent.wire, &cuts[i], usize::MAX).unwrap();
            prop_assert!(one == sent.data, "{:?} message {}", Shape::ALL[shape], i);
            prop_assert!(many == sent.data, "{:?} message {} split at {:?}", Shape::ALL[shape], i, cuts[i]);
        }
    }

    #[test]
    fn arbitrary_payloads_fail_only_with_1007_or_1009_within_the_limit(
        bits in 8u8..=15,
        takeover in any::<bool>(),
        messages in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..300), prop::collection::vec(0.0f64..=1.0, 0..3)),
            1..6,
        ),
        limit in 0usize..100_000,
    ) {
        let mut receiver = receiver(bits, takeover);
        for (payload, cuts) in &messages {
            match feed(&mut receiver, payload, cuts, limit) {
                Ok(out) => prop_assert!(out.len() <= limit),
                Err(err) => {
                    let code = err.close_code();
                    prop_assert!(
                        code == CloseCode::INVALID_PAYLOAD || code == CloseCode::MESSAGE_TOO_BIG,
                        "{err}"
                    );
                    break;
                }
            }
        }
    }
}
