#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
#![allow(dead_code, unreachable_pub)]
//! Helpers that read like the RFC: build raw frames, feed them, and assert what the
//! session sent back or how it failed.

use std::sync::OnceLock;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, Event, FrameDecoder, Message, OpCode, Role, Rsv, Session,
    encode_frame,
};

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A raw frame as a peer of `receiver_role` would send it: masked when sent to a server.
pub fn raw_frame(receiver: Role, fin: bool, rsv: Rsv, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mask = match receiver {
        Role::Server => Some(KEY),
        Role::Client => None,
    };
    let mut out = BytesMut::new();
    encode_frame(&mut out, fin, rsv, opcode, mask, payload);
    out.to_vec()
}

/// A frame with a raw first byte and payload, properly masked for the receiver.
pub fn raw_first_byte(receiver: Role, first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = raw_frame(receiver, true, Rsv::NONE, OpCode::Binary, payload);
    frame[0] = first;
    frame
}

/// One fixed instant that tests use as "the start"; later times are offsets from it.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub fn session(role: Role) -> Session {
    Session::new(role, Config::default())
}

pub fn events(session: &mut Session) -> Vec<Result<Event, ConnectionError>> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

pub fn messages(session: &mut Session) -> Vec<Message> {
    events(session)
        .into_iter()
        .map(|event| match event {
            Ok(Event::Message(message)) => message,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

/// Decodes every frame the session has queued, as its peer would.
pub fn sent_frames(session: &mut Session) -> Vec<(OpCode, bool, Rsv, Bytes)> {
    let mut buf = BytesMut::from(session.pending_output());
    session.consume_output(buf.len());
    let mut decoder = FrameDecoder::new(usize::MAX);
    let mut frames = Vec::new();
    while let Some(frame) = decoder
        .decode(&mut buf)
        .expect("session wrote a valid frame")
    {
        let expect_masked = session.role() == Role::Client;
        assert_eq!(
            frame.header.mask.is_some(),
            expect_masked,
            "masking follows the role"
        );
        frames.push((
            frame.header.opcode,
            frame.header.fin,
            frame.header.rsv,
            frame.payload,
        ));
    }
    assert!(buf.is_empty(), "trailing partial frame in output");
    frames
}

/// Asserts the session sent exactly one frame with this opcode and payload.
pub fn assert_frame_sent(session: &mut Session, opcode: OpCode, payload: &[u8]) {
    let frames = sent_frames(session);
    assert_eq!(frames.len(), 1, "expected one frame, got {frames:?}");
    assert_eq!(frames[0].0, opcode);
    assert_eq!(&frames[0].3[..], payload);
}

/// Asserts the session failed the connection and sent a close with `code`.
pub fn assert_fails_with(session: &mut Session, code: u16) -> ConnectionError {
    let evs = events(session);
    let err = evs
        .iter()
        .find_map(|e| e.as_ref().err().cloned())
        .unwrap_or_else(|| panic!("expected failure with {code}, got {evs:?}"));
    assert_eq!(err.close_code(), CloseCode::new(code), "{err}");
    let frames = sent_frames(session);
    let close = frames
        .iter()
        .find(|f| f.0 == OpCode::Close)
        .unwrap_or_else(|| panic!("no close frame sent: {frames:?}"));
    assert_eq!(&close.3[..2], &code.to_be_bytes(), "close frame code");
    assert!(session.poll_event().is_none(), "nothing after failing");
    err
}

/// Moves all pending output from `from` into `to`.
pub fn pump(from: &mut Session, to: &mut Session) {
    let out = from.take_output();
    to.receive(t0(), &out);
}
