#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! A connection's budget of buffered message bytes, shared by its sessions (issue 11): a
//! message that would take it past its limit fails that session alone with 1009
//! (RFC 6455 §7.4.1); the others go on, and what a session held is given back.

mod common;

use common::*;
use wintergreen_codec::{
    Config, ConnectionError, Event, Message, MessageBudget, OpCode, ProtocolError, Role, Rsv,
    Session,
};

const KIB: usize = 1 << 10;

fn server_with(budget: &MessageBudget) -> Session {
    Session::new(Role::Server, Config::default()).with_message_budget(budget.clone())
}

/// The first `frames` frames of a binary message that is never finished, each of `len`
/// bytes.
fn unfinished(frames: usize, len: usize) -> Vec<u8> {
    (0..frames)
        .flat_map(|i| {
            let opcode = if i == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            raw_frame(Role::Server, false, Rsv::NONE, opcode, &vec![i as u8; len])
        })
        .collect()
}

fn final_frame(len: usize) -> Vec<u8> {
    raw_frame(
        Role::Server,
        true,
        Rsv::NONE,
        OpCode::Continuation,
        &vec![9; len],
    )
}

#[test]
fn a_message_over_the_shared_budget_fails_its_session_alone_with_1009() {
    let budget = MessageBudget::new(256 * KIB);
    let mut a = server_with(&budget);
    let mut b = server_with(&budget);

    // A holds 160 KiB of an unfinished message: within its own limits and the budget.
    a.receive(t0(), &unfinished(10, 16 * KIB));
    assert!(events(&mut a).is_empty());
    assert_eq!(budget.used(), 160 * KIB);

    // B's unfinished message would take the connection to 160 + 112 > 256 KiB.
    b.receive(t0(), &unfinished(7, 16 * KIB));
    let err = assert_fails_with(&mut b, 1009);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::BudgetExceeded { limit: 256 * KIB })
    );
    assert_eq!(budget.used(), 160 * KIB, "B gave back what it held");

    // A goes on: its message completes and is delivered whole; the budget is free again.
    a.receive(t0(), &final_frame(KIB));
    match events(&mut a).as_slice() {
        [Ok(Event::Message(Message::Binary(data)))] => assert_eq!(data.len(), 161 * KIB),
        other => panic!("expected A's message, got {other:?}"),
    }
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_frame_counts_when_its_header_arrives() {
    // A header announcing more than the budget fails before its payload is buffered.
    let budget = MessageBudget::new(64 * KIB);
    let mut server = server_with(&budget);
    let frame = raw_frame(
        Role::Server,
        true,
        Rsv::NONE,
        OpCode::Binary,
        &[0; 65 * KIB],
    );
    server.receive(t0(), &frame[..16]);
    let err = assert_fails_with(&mut server, 1009);
    assert!(matches!(
        err,
        ConnectionError::Protocol(ProtocolError::BudgetExceeded { .. })
    ));
    assert_eq!(budget.used(), 0);
}

#[test]
fn the_budget_is_given_back_on_eof_and_on_drop() {
    let budget = MessageBudget::new(MIB);
    let mut a = server_with(&budget);
    a.receive(t0(), &unfinished(4, 16 * KIB));
    assert!(events(&mut a).is_empty());
    let mut b = server_with(&budget);
    b.receive(t0(), &unfinished(2, 16 * KIB));
    assert!(events(&mut b).is_empty());
    assert_eq!(budget.used(), 96 * KIB);

    a.receive_eof();
    assert!(matches!(
        events(&mut a).as_slice(),
        [Err(ConnectionError::AbnormalClosure)]
    ));
    assert_eq!(
        budget.used(),
        32 * KIB,
        "the transport's end frees A's message"
    );
    drop(b);
    assert_eq!(budget.used(), 0, "dropping B frees its message");
}

#[test]
fn many_sessions_never_hold_more_than_the_budget() {
    // 16 sessions (one per HTTP/2 stream) each send the start of a 64 KiB-frame message,
    // round after round, as flow control would let them: the total held never passes the
    // budget, the sessions that would pass it fail with 1009, and the others go on.
    let limit = 512 * KIB;
    let budget = MessageBudget::new(limit);
    let mut sessions: Vec<Session> = (0..16).map(|_| server_with(&budget)).collect();
    let mut failed = vec![false; sessions.len()];
    for round in 0..8 {
        for (session, failed) in sessions.iter_mut().zip(&mut failed) {
            let opcode = if round == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            session.receive(
                t0(),
                &raw_frame(Role::Server, false, Rsv::NONE, opcode, &[1; 64 * KIB]),
            );
            for event in events(session) {
                let err = event.expect_err("no message is finished");
                assert_eq!(
                    err,
                    ConnectionError::Protocol(ProtocolError::BudgetExceeded { limit })
                );
                *failed = true;
            }
            assert!(budget.used() <= limit, "round {round}: {budget:?}");
        }
    }
    let survivors = failed.iter().filter(|f| !**f).count();
    assert!(survivors >= 1, "the first streams keep their messages");
    assert!(survivors < sessions.len(), "the budget was enforced");
    assert_eq!(budget.used(), survivors * 8 * 64 * KIB);
    for (session, failed) in sessions.iter_mut().zip(&failed) {
        if !failed {
            session.receive(t0(), &final_frame(0));
            assert!(matches!(
                events(session).as_slice(),
                [Ok(Event::Message(Message::Binary(_)))]
            ));
        }
    }
    assert_eq!(budget.used(), 0);
}

const MIB: usize = 1 << 20;
