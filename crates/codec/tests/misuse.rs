#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! A caller using the sans-IO session in any order: sends after close, output consumed
//! past its end, input after a protocol error, time that goes backwards, reads sized
//! beyond reason. Nothing panics, and a send that the session's state forbids is refused
//! with a typed error.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wintergreen_codec::{
    CloseCode, Config, DataKind, KeepAlive, Message, OpCode, Role, Rsv, SendError, Session, State,
};

#[derive(Debug, Clone)]
enum Call {
    /// Bytes from the peer: a valid frame, or garbage.
    Receive(Vec<u8>, bool),
    /// The clock moves by this many ms, forwards or backwards, then `handle_timeout`.
    Time(i64),
    Consume(usize),
    Take,
    SendText,
    Fragment(bool, bool),
    Ping,
    Close,
    CloseWithoutStatus,
    Eof,
    /// `prepare_receive` with this read size, then `received` with a claim of this many bytes.
    Prepare(usize, usize),
    Release,
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        3 => (proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()).prop_map(|(b, v)| Call::Receive(b, v)),
        3 => (-100_000i64..100_000).prop_map(Call::Time),
        2 => prop_oneof![Just(usize::MAX), 0usize..200].prop_map(Call::Consume),
        1 => Just(Call::Take),
        2 => Just(Call::SendText),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(k, f)| Call::Fragment(k, f)),
        1 => Just(Call::Ping),
        1 => Just(Call::Close),
        1 => Just(Call::CloseWithoutStatus),
        1 => Just(Call::Eof),
        1 => (prop_oneof![Just(usize::MAX), Just(usize::MAX / 2 + 1), 0usize..100_000], prop_oneof![Just(usize::MAX), 0usize..100]).prop_map(|(w, n)| Call::Prepare(w, n)),
        1 => Just(Call::Release),
    ]
}

fn run(role: Role, keepalive: bool, calls: Vec<Call>) {
    let mut config = Config::default();
    config.mask_seed = Some(7);
    config.idle_timeout = Some(Duration::from_secs(30));
    if keepalive {
        config.keepalive = Some(KeepAlive::new(
            Duration::from_secs(5),
            Duration::from_secs(5),
        ));
    }
    let mut session = Session::new(role, config);
    let base = t0() + Duration::from_secs(1000);
    let mut now = base;
    for call in calls {
        match call {
            Call::Receive(bytes, valid) => {
                let data = if valid {
                    raw_frame(role, true, Rsv::NONE, OpCode::Text, b"hi")
                } else {
                    bytes
                };
                session.receive(now, &data);
            }
            Call::Time(ms) => {
                let step = Duration::from_millis(ms.unsigned_abs());
                now = if ms < 0 {
                    now.checked_sub(step).unwrap_or(now)
                } else {
                    now + step
                };
                session.handle_timeout(now);
            }
            Call::Consume(n) => session.consume_output(n),
            Call::Take => drop(session.take_output()),
            Call::SendText => {
                let state = session.state();
                let result = session.send(now, Message::text("hello"));
                check_send_state(state, &result);
            }
            Call::Fragment(text, fin) => {
                let kind = if text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let state = session.state();
                let result = session.send_fragment(kind, b"frag", fin);
                check_send_state(state, &result);
            }
            Call::Ping => {
                let state = session.state();
                let result = session.send_ping(b"p");
                check_send_state(state, &result);
            }
            Call::Close => {
                let state = session.state();
                let result = session.close(now, CloseCode::NORMAL, "bye");
                check_send_state(state, &result);
            }
            Call::CloseWithoutStatus => {
                let state = session.state();
                let result = session.close_without_status(now);
                check_send_state(state, &result);
            }
            Call::Eof => session.receive_eof(),
            Call::Prepare(want, n) => {
                // The room is the caller's to fill; claiming more than it wrote is misuse
                // that only miscounts statistics.
                let room = session.prepare_receive(want);
                assert!(
                    room > 0,
                    "a read of nothing would look like the end of input"
                );
                session.received(now, n);
            }
            Call::Release => session.release_idle_buffers(),
        }
        let first = session.poll_timeout();
        assert_eq!(first, session.poll_timeout(), "poll_timeout is a pure read");
        while session.poll_event().is_some() {}
        let _ = session.pending_output_len();
    }
}

/// A closed session takes no send, and says why: our close or failure, or the peer's.
fn check_send_state(before: State, result: &Result<(), SendError>) {
    if before == State::Closed {
        assert!(
            matches!(
                result,
                Err(SendError::AlreadyClosed | SendError::ClosedByPeer)
            ),
            "a closed session took a send: {result:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Before the fix, `prepare_receive(usize::MAX)` (a driver's `read_buffer_size` set
    /// to it) overflowed the buffer's capacity, and a send after `receive_eof` was queued
    /// on a closed session.
    #[test]
    fn any_call_sequence_never_panics(
        server in any::<bool>(),
        keepalive in any::<bool>(),
        calls in proptest::collection::vec(call(), 0..60),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        run(role, keepalive, calls);
    }
}
