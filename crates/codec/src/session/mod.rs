//! The sans-IO connection after the opening handshake (RFC 6455 §5–§7).
//!
//! A [`Session`] is a plain value: the caller appends bytes read from the peer, polls events,
//! queues messages, and writes out the bytes the session has queued. It never reads a clock
//! or a socket; time comes in through [`Session::handle_timeout`] and
//! [`Session::poll_timeout`].

mod recv;
mod send;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::BytesMut;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::{Config, Role};
use crate::error::ConnectionError;
use crate::extension::Extension;
use crate::frame::FrameDecoder;
use crate::message::{DataKind, Fragment, Message};
use crate::utf8::Utf8Validator;

/// What the session observed; drained with [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text or binary message, a ping, a pong, or the peer's close frame.
    Message(Message),
    /// A piece of a data message (only in [streaming](Config::streaming) mode).
    Fragment(Fragment),
}

/// Where the session is in its life (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; the handshake or the transport's end is pending.
    Closing,
    /// Done: write out any pending output, then close the transport.
    Closed,
}

/// Who sent the first close frame (or failed the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Initiator {
    Local,
    Peer,
}

/// The close-handshake timer. It is armed without a time (the session has no clock) and
/// starts at the next `now` the caller passes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Off,
    Armed,
    At(Instant),
}

/// A data message being received.
#[derive(Debug)]
struct Incoming {
    kind: DataKind,
    /// The negotiated extension transforms this message.
    transformed: bool,
    /// Assembled payload (whole-message mode), or the current piece (streaming mode).
    buf: BytesMut,
    /// Frames seen so far.
    fragments: usize,
    /// Payload bytes so far (after the extension).
    size: usize,
    /// Streaming mode: whether the first piece was yielded.
    started: bool,
    utf8: Utf8Validator,
}

/// A caller-driven fragmented message being sent.
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    kind: DataKind,
    transformed: bool,
}

/// A WebSocket connection's protocol state, for either role: the caller appends bytes
/// read from the peer, polls events, queues messages, and writes out the queued bytes.
///
/// ```
/// use wintergreen_codec::{Config, Event, Message, Role, Session};
///
/// let mut client = Session::new(Role::Client, Config::default());
/// let mut server = Session::new(Role::Server, Config::default());
///
/// client.send_text("hello").unwrap();
/// server.receive(client.pending_output());
/// client.consume_output(client.pending_output().len());
///
/// match server.poll_event() {
///     Some(Ok(Event::Message(Message::Text(text)))) => assert_eq!(text, "hello"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: Config,
    extension: Option<Box<dyn Extension>>,

    read_buf: BytesMut,
    decoder: FrameDecoder,
    /// Bytes of the current frame's payload already fed to the UTF-8 validator.
    frame_validated: usize,
    incoming: Option<Incoming>,
    events: VecDeque<Result<Event, ConnectionError>>,
    /// No more input is processed: a close frame arrived, or the connection failed.
    input_done: bool,

    out: BytesMut,
    scratch: BytesMut,
    outgoing: Option<Outgoing>,
    masks: StdRng,

    close_sent: bool,
    close_received: bool,
    initiator: Option<Initiator>,
    /// We failed the connection for a protocol error.
    failed: bool,
    closed: bool,
    timer: Timer,
}

impl Session {
    /// A session for `role`, right after a successful handshake.
    pub fn new(role: Role, config: Config) -> Self {
        Self {
            role,
            decoder: FrameDecoder::new(config.max_frame_size),
            config,
            extension: None,
            read_buf: BytesMut::new(),
            frame_validated: 0,
            incoming: None,
            events: VecDeque::new(),
            input_done: false,
            out: BytesMut::new(),
            scratch: BytesMut::new(),
            outgoing: None,
            // One OS-seeded CSPRNG per thread (rand's ThreadRng) seeds one per session, so
            // mask keys cost no system call.
            masks: StdRng::from_rng(&mut rand::rng()),
            close_sent: false,
            close_received: false,
            initiator: None,
            failed: false,
            closed: false,
            timer: Timer::Off,
        }
    }

    /// Uses a negotiated extension (e.g. permessage-deflate) for this session.
    #[must_use]
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.extension = Some(extension);
        self
    }

    /// This session's role.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// This session's configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The negotiated extension, if any.
    pub fn extension(&self) -> Option<&dyn Extension> {
        self.extension.as_deref()
    }

    /// Where the session is in its life.
    pub const fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else if self.close_sent || self.close_received {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Whether the transport should be closed now (after writing the pending output).
    pub const fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether a close frame was sent (by us, or as the answer to the peer's).
    pub const fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer's close frame arrived.
    pub const fn close_received(&self) -> bool {
        self.close_received
    }

    /// The bytes queued for the peer. Write them, then call
    /// [`consume_output`](Self::consume_output) with how many were written.
    pub fn pending_output(&self) -> &[u8] {
        &self.out
    }

    /// Whether bytes are queued for the peer.
    pub fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Drops the first `n` bytes of the pending output (they were written).
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.out.len());
        bytes::Buf::advance(&mut self.out, n);
    }

    /// Takes all the pending output at once.
    pub fn take_output(&mut self) -> BytesMut {
        self.out.split()
    }

    /// The deadline of the pending timer, if any. A timer armed since the last call starts
    /// at `now`; call [`handle_timeout`](Self::handle_timeout) once the deadline passes.
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        match self.timer {
            Timer::Off => None,
            Timer::Armed => {
                let at = now + self.config.close_timeout;
                self.timer = Timer::At(at);
                Some(at)
            }
            Timer::At(at) => Some(at),
        }
    }

    /// Tells the session the time. Starts an armed timer, and fires one whose deadline has
    /// passed: the close handshake is abandoned and the session is closed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.timer {
            Timer::At(at) if now >= at => {
                tracing::debug!(role = ?self.role, "close timeout");
                self.timer = Timer::Off;
                self.input_done = true;
                self.read_buf.clear();
                self.closed = true;
                if !self.close_received && !self.failed && self.initiator == Some(Initiator::Local)
                {
                    self.events.push_back(Err(ConnectionError::CloseTimeout));
                }
            }
            Timer::Armed => {
                self.poll_timeout(now);
            }
            Timer::Off | Timer::At(_) => {}
        }
    }

    fn arm_timer(&mut self) {
        if self.timer == Timer::Off {
            self.timer = Timer::Armed;
        }
    }
}
