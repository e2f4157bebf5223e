//! Deflate amplification against a connection's budget (issue 11): an unfinished message of
//! zeros arrives compressed 90:1 to 1,000:1, so some kilobytes on the wire would make a
//! session hold up to `max_message_size` (64 MiB by default). With a shared
//! [`MessageBudget`] the session inflates no further than the budget allows, fails with
//! 1009 (RFC 6455 §7.4.1), and the connection's other sessions go on.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // tests
#![allow(unsafe_code, clippy::print_stdout)]

mod common;

#[path = "common/counting.rs"]
mod counting;

use common::{events, negotiated_pair, transfer};
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, DataKind, Event, Message, MessageBudget, ProtocolError,
    Session,
};
use wintergreen_deflate::DeflateFactory;

const MIB: usize = 1 << 20;

/// A client and a server that agreed on permessage-deflate with the default factories, the
/// server's session counted against `budget`.
fn pair(budget: &MessageBudget) -> (Session, Session) {
    let (client, server) = negotiated_pair(
        &DeflateFactory::client_default(),
        &DeflateFactory::server_default(),
        Config::default(),
    );
    (client, server.with_message_budget(budget.clone()))
}

#[test]
fn a_compressible_unfinished_message_stops_at_the_budget_with_1009() {
    let budget = MessageBudget::new(8 * MIB);
    let (mut client, mut server) = pair(&budget);
    let (mut other_client, mut other) = pair(&budget);
    let zeros = vec![0u8; MIB];
    let start = counting::live();
    let mut peak = 0;
    let mut wire = 0;
    let mut err = None;
    // Up to 32 MiB of zeros, 1 MiB per frame, never finished: far under the 64 MiB
    // message limit, four times the budget.
    for _ in 0..32 {
        client
            .send_fragment(DataKind::Binary, &zeros, false)
            .unwrap();
        wire += transfer(&mut client, &mut server).len();
        for event in events(&mut server) {
            err = Some(event.expect_err("the message is never finished"));
        }
        assert!(budget.used() <= budget.limit(), "{budget:?}");
        peak = peak.max(counting::live() - start);
        if err.is_some() {
            break;
        }
    }
    let err = err.expect("the budget was enforced");
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::BudgetExceeded { limit: 8 * MIB })
    );
    println!(
        "{} KiB on the wire, peak {} KiB held (budget {} KiB)",
        wire >> 10,
        peak >> 10,
        budget.limit() >> 10
    );
    // At the client's default level 1, zeros compress about 90:1 (level 9: about 1,000:1).
    assert!(wire * 50 < budget.limit(), "{wire} bytes on the wire");
    // The inflated bytes never pass the budget; the output buffer's spare capacity, the
    // client's compressor and both sides' windows come on top.
    let bound = (budget.limit() + budget.limit() / 2) as isize;
    assert!(peak <= bound, "peak {peak} bytes, bound {bound}");
    assert_eq!(budget.used(), 0, "the failed session gave its share back");

    // The connection's other session still takes a message.
    other_client
        .send(common::now(), Message::binary(vec![1u8; 4 * MIB]))
        .unwrap();
    transfer(&mut other_client, &mut other);
    match events(&mut other).as_slice() {
        [Ok(Event::Message(Message::Binary(data)))] => assert_eq!(data.len(), 4 * MIB),
        other => panic!("expected the message, got {other:?}"),
    }
}
