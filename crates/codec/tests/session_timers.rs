#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The session's timers with a fake clock (RFC 6455 §5.5.2 keep-alive, §7 closing): an
//! in-memory client↔server pair drives whole conversations, and time moves only when the
//! test says so.

mod common;

use std::time::{Duration, Instant};

use common::*;
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, Event, KeepAlive, Message, OpCode, Role, Session, State,
    TimerKind,
};

const INTERVAL: Duration = Duration::from_secs(30);
const GRACE: Duration = Duration::from_secs(10);
const IDLE: Duration = Duration::from_secs(60);

type Events = Vec<Result<Event, ConnectionError>>;

/// A client and a server joined by a perfect in-memory wire, with one fake clock.
struct Pair {
    client: Session,
    server: Session,
    now: Instant,
    /// Whether the server's bytes reach the client (false: the server has gone silent).
    server_to_client: bool,
    client_events: Events,
    server_events: Events,
}

impl Pair {
    fn new(client: Config, server: Config) -> Self {
        let now = t0();
        let mut pair = Self {
            client: Session::new(Role::Client, client),
            server: Session::new(Role::Server, server),
            now,
            server_to_client: true,
            client_events: Vec::new(),
            server_events: Vec::new(),
        };
        pair.client.handle_timeout(now);
        pair.server.handle_timeout(now);
        pair
    }

    /// Moves bytes both ways (at the current time) until neither side has output.
    fn exchange(&mut self) {
        loop {
            let mut moved = false;
            let out = self.client.take_output();
            if !out.is_empty() {
                moved = true;
                self.server.receive(self.now, &out);
            }
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            let out = self.server.take_output();
            if !out.is_empty() && self.server_to_client {
                moved = true;
                self.client.receive(self.now, &out);
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if !moved {
                return;
            }
        }
    }

    /// The next deadline of either side.
    fn next_deadline(&self) -> Option<Instant> {
        [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the conversation until `until`, firing every timer on its deadline.
    fn run_until(&mut self, until: Instant) {
        self.exchange();
        while let Some(deadline) = self.next_deadline().filter(|d| *d <= until) {
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.exchange();
        }
        self.now = self.now.max(until);
    }

    fn run_for(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }
}

fn keepalive_config() -> Config {
    let mut config = Config::default();
    config.keepalive = Some(KeepAlive::new(INTERVAL, GRACE));
    config
}

fn idle_config() -> Config {
    let mut config = Config::default();
    config.idle_timeout = Some(IDLE);
    config
}

fn pings(events: &Events) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Ok(Event::Message(Message::Ping(_)))))
        .count()
}

fn pongs(events: &Events) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Ok(Event::Message(Message::Pong(_)))))
        .count()
}

// §5.5.2: keep-alive pings.

#[test]
fn keepalive_pings_after_each_interval_of_silence_and_hides_its_pongs() {
    let mut pair = Pair::new(keepalive_config(), Config::default());
    assert_eq!(pair.client.poll_timeout(), Some(t0() + INTERVAL));
    pair.run_for(INTERVAL * 3 + Duration::from_secs(1));
    assert_eq!(pings(&pair.server_events), 3, "one ping per interval");
    assert!(
        pair.client_events.is_empty(),
        "the answers to our own pings are not yielded: {:?}",
        pair.client_events
    );
    assert_eq!(pair.client.state(), State::Open);
    assert_eq!(pair.client.poll_timeout(), Some(t0() + INTERVAL * 4));
}

#[test]
fn keepalive_pongs_are_yielded_when_asked() {
    let mut config = keepalive_config();
    config.yield_keepalive_pongs = true;
    let mut pair = Pair::new(config, Config::default());
    pair.run_for(INTERVAL + Duration::from_secs(1));
    assert_eq!(pongs(&pair.client_events), 1);
}

#[test]
fn unsolicited_pongs_are_still_yielded_with_keepalive_on() {
    let mut pair = Pair::new(keepalive_config(), Config::default());
    pair.run_for(INTERVAL + Duration::from_secs(1));
    pair.server.send_pong(b"heartbeat").unwrap();
    pair.exchange();
    assert_eq!(
        pair.client_events,
        vec![Ok(Event::Message(Message::Pong(
            bytes::Bytes::from_static(b"heartbeat")
        )))]
    );
}

#[test]
fn any_byte_from_the_peer_postpones_the_keepalive_ping() {
    let mut pair = Pair::new(keepalive_config(), Config::default());
    pair.run_for(Duration::from_secs(20));
    pair.server.send_text("still here").unwrap();
    pair.exchange();
    assert_eq!(
        pair.client.poll_timeout(),
        Some(t0() + Duration::from_secs(20) + INTERVAL)
    );
    pair.run_until(t0() + INTERVAL + Duration::from_secs(5));
    assert_eq!(
        pings(&pair.server_events),
        0,
        "no ping while the peer talks"
    );
}

#[test]
fn silent_peer_fails_the_connection_after_interval_plus_timeout() {
    let mut pair = Pair::new(keepalive_config(), Config::default());
    pair.server_to_client = false;
    pair.run_for(INTERVAL + GRACE - Duration::from_millis(1));
    assert_eq!(pair.client.state(), State::Open, "still within the grace");
    pair.run_for(Duration::from_millis(1));
    assert!(pair.client.is_closed());
    assert_eq!(
        pair.client_events,
        vec![Err(ConnectionError::TimedOut(TimerKind::KeepAlive))]
    );
    assert!(
        !pair.client.has_pending_output(),
        "nothing left to write to a dead peer"
    );
    assert_eq!(pair.client.poll_timeout(), None, "every timer stopped");
}

#[test]
fn keepalive_stops_once_the_close_handshake_starts() {
    let mut pair = Pair::new(keepalive_config(), Config::default());
    pair.client.close(pair.now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        pair.client.poll_timeout(),
        Some(t0() + Config::DEFAULT_CLOSE_TIMEOUT),
        "only the close timer runs"
    );
    pair.exchange();
    assert!(
        pair.server.should_end_write(),
        "the close handshake is done"
    );
    pair.client.receive_eof();
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pings(&pair.server_events), 0);
}

// Idle timeout: no data message either way.

#[test]
fn idle_timeout_starts_the_close_handshake_with_going_away() {
    let mut pair = Pair::new(Config::default(), idle_config());
    pair.run_for(IDLE - Duration::from_secs(1));
    assert_eq!(pair.server.state(), State::Open);
    pair.run_for(Duration::from_secs(1));
    assert_eq!(
        pair.server_events,
        vec![
            Err(ConnectionError::TimedOut(TimerKind::Idle)),
            Ok(Event::Message(Message::close(CloseCode::GOING_AWAY, ""))),
        ],
        "why, then the client's answer"
    );
    assert_eq!(
        pair.client_events,
        vec![Ok(Event::Message(Message::close(
            CloseCode::GOING_AWAY,
            ""
        )))]
    );
    assert!(
        pair.server.should_end_write(),
        "the client answered the close"
    );
}

#[test]
fn data_received_restarts_the_idle_timer() {
    let mut pair = Pair::new(Config::default(), idle_config());
    pair.run_for(Duration::from_secs(40));
    pair.client.send_text("hi").unwrap();
    pair.exchange();
    assert_eq!(
        pair.server.poll_timeout(),
        Some(t0() + Duration::from_secs(40) + IDLE)
    );
}

#[test]
fn data_sent_restarts_the_idle_timer_at_the_next_now() {
    let mut pair = Pair::new(Config::default(), idle_config());
    pair.run_for(Duration::from_secs(40));
    pair.server.send_text("tick").unwrap();
    pair.server.handle_timeout(pair.now);
    assert_eq!(
        pair.server.poll_timeout(),
        Some(t0() + Duration::from_secs(40) + IDLE)
    );
}

#[test]
fn pings_do_not_count_as_activity_for_the_idle_timer() {
    let mut pair = Pair::new(keepalive_config(), idle_config());
    pair.run_for(IDLE + Duration::from_secs(1));
    assert!(pings(&pair.server_events) >= 1);
    assert!(
        pair.server_events
            .contains(&Err(ConnectionError::TimedOut(TimerKind::Idle))),
        "{:?}",
        pair.server_events
    );
}

// §7.1.1, §7.1.2: the close timer.

#[test]
fn close_timer_starts_at_the_time_passed_to_close() {
    let mut server = session(Role::Server);
    let at = t0() + Duration::from_secs(7);
    server.close(at, CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        server.poll_timeout(),
        Some(at + Config::DEFAULT_CLOSE_TIMEOUT)
    );
}

#[test]
fn a_close_timeout_drops_what_the_peer_did_not_take() {
    // A peer that reads nothing: data and then our close frame stay queued.
    let mut server = session(Role::Server);
    let at = t0();
    server.handle_timeout(at);
    server.send(at, Message::binary(vec![0u8; 4096])).unwrap();
    server.close(at, CloseCode::NORMAL, "").unwrap();
    assert!(server.has_pending_output());
    server.handle_timeout(at + Config::DEFAULT_CLOSE_TIMEOUT);
    // The connection is to be dropped: nothing is left to wait for before ending it.
    assert!(server.is_closed());
    assert!(
        !server.has_pending_output(),
        "queued output outlived the close timeout"
    );
    assert!(matches!(
        server.poll_event(),
        Some(Err(ConnectionError::TimedOut(TimerKind::Close)))
    ));
}

#[test]
fn client_close_timer_after_the_servers_close_counts_from_its_arrival() {
    let mut pair = Pair::new(Config::default(), Config::default());
    pair.run_for(Duration::from_secs(5));
    pair.server.close(pair.now, CloseCode::NORMAL, "").unwrap();
    pair.exchange();
    assert!(pair.server.should_end_write());
    assert_eq!(
        pair.client.poll_timeout(),
        Some(t0() + Duration::from_secs(5) + Config::DEFAULT_CLOSE_TIMEOUT),
        "the client waits, bounded, for the server to end the transport"
    );
    pair.run_for(Config::DEFAULT_CLOSE_TIMEOUT);
    assert!(pair.client.is_closed());
    assert!(
        pair.server.is_closed(),
        "the server's linger is bounded too"
    );
    assert!(
        !pair.client_events.iter().any(Result::is_err),
        "the handshake completed: {:?}",
        pair.client_events
    );
    assert!(
        !pair.server_events.iter().any(Result::is_err),
        "the handshake completed: {:?}",
        pair.server_events
    );
}

#[test]
fn a_close_timer_due_before_any_time_is_known_starts_at_the_next_time() {
    // The server's close frame among the bytes that followed the opening handshake: parsed
    // without a time (no `received`), so the client's close timer waits for one.
    let mut client = session(Role::Client);
    client
        .receive_buffer()
        .extend_from_slice(&[0x88, 0x02, 0x03, 0xe8]);
    let got = events(&mut client);
    assert!(
        got.iter()
            .any(|e| matches!(e, Ok(Event::Message(Message::Close(_))))),
        "{got:?}"
    );
    assert_eq!(client.poll_timeout(), None, "no time known yet");
    let at = t0() + Duration::from_secs(3);
    client.handle_timeout(at);
    assert_eq!(
        client.poll_timeout(),
        Some(at + Config::DEFAULT_CLOSE_TIMEOUT)
    );
}

#[test]
fn poll_timeout_is_a_pure_read() {
    let mut pair = Pair::new(keepalive_config(), idle_config());
    let first = pair.server.poll_timeout();
    assert_eq!(pair.server.poll_timeout(), first);
    pair.run_for(Duration::from_secs(1));
    assert_eq!(pair.server.poll_timeout(), first);
}

// §5.3: mask keys from a seeded CSPRNG.

fn masked_output(seed: Option<u64>) -> Vec<u8> {
    let mut config = Config::default();
    config.mask_seed = seed;
    let mut client = Session::new(Role::Client, config);
    for _ in 0..4 {
        client.send_text("same text").unwrap();
    }
    client.take_output().to_vec()
}

#[test]
fn seeded_mask_keys_make_output_reproducible() {
    assert_eq!(masked_output(Some(7)), masked_output(Some(7)));
    assert_ne!(masked_output(Some(7)), masked_output(Some(8)));
    let mut a = Session::new(Role::Client, Config::default()).with_rng_seed(7);
    a.send_text("same text").unwrap();
    assert_eq!(
        a.take_output().to_vec(),
        masked_output(Some(7))[..15].to_vec()
    );
}

#[test]
fn os_seeded_mask_keys_differ_between_sessions() {
    assert_ne!(masked_output(None), masked_output(None));
}

#[test]
fn seeded_output_still_decodes() {
    let mut config = Config::default();
    config.mask_seed = Some(42);
    let mut client = Session::new(Role::Client, config);
    client.send_text("hello").unwrap();
    assert_frame_sent(&mut client, OpCode::Text, b"hello");
}

// Any interleaving of input, time, output and sends keeps the timers consistent.

#[derive(Debug, Clone)]
enum Op {
    /// The next `n` bytes of the peer's wire arrive.
    Feed(usize),
    /// Time passes by this many milliseconds, then `handle_timeout`.
    Advance(u64),
    /// The transport takes `n` bytes of output.
    Drain(usize),
    /// The application sends a text message.
    Send,
    /// The application starts the close handshake.
    Close,
    /// The transport ends.
    Eof,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (1usize..300).prop_map(Op::Feed),
        4 => (0u64..50_000).prop_map(Op::Advance),
        2 => (0usize..500).prop_map(Op::Drain),
        1 => Just(Op::Send),
        1 => Just(Op::Close),
        1 => Just(Op::Eof),
    ]
}

/// A peer's wire to `receiver`: pings, pongs, texts, and maybe a close at the end.
fn peer_wire(receiver: Role, frames: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    for (i, kind) in frames.iter().enumerate() {
        let payload = [b'x'; 20];
        let opcode = match kind % 4 {
            0 => OpCode::Ping,
            1 => OpCode::Pong,
            2 => OpCode::Text,
            _ if i + 1 == frames.len() => OpCode::Close,
            _ => OpCode::Text,
        };
        let payload: &[u8] = if opcode == OpCode::Close {
            &[0x03, 0xe8]
        } else {
            &payload
        };
        wire.extend(raw_frame(
            receiver,
            true,
            wintergreen_codec::Rsv::NONE,
            opcode,
            payload,
        ));
    }
    wire
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    #[test]
    fn handle_timeout_leaves_no_expired_timer_and_a_closed_session_has_none_in_either_role(
        frames in proptest::collection::vec(0u8..8, 0..40),
        ops in proptest::collection::vec(op(), 0..60),
        keepalive in proptest::bool::ANY,
        idle in proptest::bool::ANY,
        client in proptest::bool::ANY,
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let mut config = Config::default();
        if keepalive {
            config.keepalive = Some(KeepAlive::new(INTERVAL, GRACE));
        }
        if idle {
            config.idle_timeout = Some(IDLE);
        }
        config.max_pending_output = 256;
        let mut session = Session::new(role, config);
        let mut now = t0();
        session.handle_timeout(now);
        let wire = peer_wire(role, &frames);
        let mut rest = &wire[..];
        for op in ops {
            match op {
                Op::Feed(n) => {
                    let (piece, tail) = rest.split_at(n.min(rest.len()));
                    session.receive(now, piece);
                    rest = tail;
                }
                Op::Advance(ms) => {
                    now += Duration::from_millis(ms);
                    session.handle_timeout(now);
                    if let Some(deadline) = session.poll_timeout() {
                        proptest::prop_assert!(deadline > now, "an expired timer is left");
                    }
                }
                Op::Drain(n) => session.consume_output(n),
                Op::Send => {
                    let _ = session.send_text("hi");
                }
                Op::Close => {
                    let _ = session.close(now, CloseCode::NORMAL, "");
                }
                Op::Eof => session.receive_eof(),
            }
            while session.poll_event().is_some() {}
            if session.is_closed() {
                proptest::prop_assert_eq!(session.poll_timeout(), None);
            }
            if let Some(deadline) = session.poll_timeout() {
                proptest::prop_assert!(deadline >= t0());
            }
        }
    }
}
