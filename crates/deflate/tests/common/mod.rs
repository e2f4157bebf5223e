//! Helpers shared by the integration tests: an in-memory client↔server pair of sessions that
//! negotiated permessage-deflate, and ways to drive it.

#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)] // test helpers

pub mod miniz;
pub mod puff;
pub mod shapes;

use wintergreen_codec::{
    CloseCode, Config, ConnectionError, Event, Extension, ExtensionFactory, Message, OpCode, Role,
    Rsv, Session,
};
use wintergreen_deflate::{Deflate, DeflateConfig, DeflateFactory, DeflateParams, WindowBits};

/// Sessions for both ends with `params` agreed and `config`'s level and threshold.
pub fn pair_with(
    params: DeflateParams,
    config: &DeflateConfig,
    session: Config,
) -> (Session, Session) {
    let client = Session::new(Role::Client, session.clone())
        .with_extension(Box::new(Deflate::new(Role::Client, params, config)));
    let server = Session::new(Role::Server, session).with_extension(Box::new(Deflate::new(
        Role::Server,
        params,
        config,
    )));
    (client, server)
}

/// Sessions for both ends, negotiated through the factories' offer and answer.
pub fn negotiated_pair(
    client: &DeflateFactory,
    server: &DeflateFactory,
    session: Config,
) -> (Session, Session) {
    let offers = client.offers();
    let (answer, server_ext) = server
        .accept_offers(&offers)
        .expect("server judged the offers")
        .expect("server accepted an offer");
    let client_ext = client
        .accept_response(&answer)
        .expect("client accepted the answer");
    (
        Session::new(Role::Client, session.clone()).with_extension(client_ext),
        Session::new(Role::Server, session).with_extension(server_ext),
    )
}

/// Sends `sent` from `from` to `to`, checks they arrive intact, and returns the frames.
pub fn send_and_check(from: &mut Session, to: &mut Session, sent: &[Message]) -> Vec<WireFrame> {
    for message in sent {
        from.send(now(), message.clone()).unwrap();
    }
    let wire = transfer(from, to);
    assert!(messages(to) == sent, "the messages did not arrive intact");
    parse_frames(&wire)
}

/// Moves everything `from` has queued into `to`'s input; returns the bytes moved.
pub fn transfer(from: &mut Session, to: &mut Session) -> Vec<u8> {
    let bytes = from.take_output().to_vec();
    to.receive(now(), &bytes);
    bytes
}

/// Every event `session` has, until it has none.
pub fn events(session: &mut Session) -> Vec<Result<Event, ConnectionError>> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// The data messages among `session`'s events; panics on an error.
pub fn messages(session: &mut Session) -> Vec<Message> {
    events(session)
        .into_iter()
        .map(|event| match event {
            Ok(Event::Message(message)) => message,
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

/// The text messages among `session`'s events; panics on anything else.
pub fn texts(session: &mut Session) -> Vec<String> {
    messages(session)
        .into_iter()
        .map(|message| match message {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("not text: {other:?}"),
        })
        .collect()
}

/// A session in `role` with `params` agreed, default level and threshold.
pub fn session_with(role: Role, params: DeflateParams) -> Session {
    Session::new(role, Config::default()).with_extension(Box::new(Deflate::new(
        role,
        params,
        &DeflateConfig::default(),
    )))
}

/// The server of a negotiation between the default factories: `permessage-deflate;
/// client_max_window_bits`, answered with context takeover both ways and 15-bit windows.
pub fn default_server() -> Session {
    negotiated_pair(
        &DeflateFactory::client_default(),
        &DeflateFactory::server_default(),
        Config::default(),
    )
    .1
}

/// Compresses `messages` as one sender (a server) with `bits`, `level` and takeover or not,
/// each whole or in three fragments; returns each message's payload as sent.
pub fn compress_each(
    bits: WindowBits,
    level: u32,
    no_context_takeover: bool,
    messages: &[&[u8]],
    fragmented: bool,
) -> Vec<Vec<u8>> {
    let mut config = DeflateConfig::default();
    config.level = level;
    config.threshold = 0;
    let params = DeflateParams::new(no_context_takeover, no_context_takeover, bits, bits);
    let mut sender = Deflate::new(Role::Server, params, &config);
    let mut payloads = Vec::new();
    for message in messages {
        assert_eq!(
            sender.encode_start(OpCode::Binary, Some(message.len())),
            Rsv::RSV1
        );
        let mut out = bytes::BytesMut::new();
        let third = if fragmented { message.len() / 3 } else { 0 };
        sender.encode(&message[..third], false, &mut out).unwrap();
        sender
            .encode(&message[third..2 * third], false, &mut out)
            .unwrap();
        sender
            .encode(&message[2 * third..], true, &mut out)
            .unwrap();
        payloads.push(out.to_vec());
    }
    payloads
}

/// Asserts that `session` failed the connection with `code` and queued a close frame
/// carrying it.
pub fn assert_fails_with(session: &mut Session, code: CloseCode) {
    let events = events(session);
    let err = events
        .iter()
        .find_map(|event| event.as_ref().err())
        .unwrap_or_else(|| panic!("no error among {events:?}"));
    assert_eq!(err.close_code(), code, "{err}");
    let out = session.pending_output();
    assert!(out.len() >= 4, "no close frame queued");
    // An unmasked (server) or masked (client) close frame with the code first.
    assert_eq!(out[0], 0x88, "not a close frame: {out:02x?}");
    let masked = out[1] & 0x80 != 0;
    let mut code_bytes = [out[2], out[3]];
    if masked {
        code_bytes = [out[6] ^ out[2], out[7] ^ out[3]];
    }
    assert_eq!(
        u16::from_be_bytes(code_bytes),
        code.as_u16(),
        "close frame {out:02x?}"
    );
}

/// A frame as a client would send it (masked with a fixed key), RSV bits given as the
/// first byte's 0x70 part.
pub fn client_frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    let first = u8::from(fin) << 7 | rsv | opcode;
    out.extend_from_slice(&[first]);
    let key = [0x12, 0x34, 0x56, 0x78];
    match payload.len() {
        len @ 0..=125 => out.extend_from_slice(&[0x80 | len as u8]),
        len @ 126..=0xffff => {
            out.extend_from_slice(&[0x80 | 126]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.extend_from_slice(&[0x80 | 127]);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out.to_vec()
}

/// A frame as a server would send it (unmasked).
pub fn server_frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(u8::from(fin) << 7 | rsv | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Deterministic pseudo-random bytes (xorshift), `len` of them.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// JSON-like text of about `len` bytes that differs from seed to seed but repeats keys.
pub fn json_like(seed: u64, len: usize) -> String {
    let mut out = String::with_capacity(len + 128);
    let mut n = seed;
    while out.len() < len {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push_str(&format!(
            "{{\"type\":\"trade\",\"symbol\":\"BTC-USD\",\"price\":{}.{:02},\"qty\":0.{:04},\"side\":\"{}\",\"id\":{}}}",
            40000 + (n >> 40) % 5000,
            (n >> 20) % 100,
            (n >> 8) % 10000,
            if n & 1 == 0 { "buy" } else { "sell" },
            n >> 44,
        ));
    }
    out.truncate(len);
    out
}

/// One frame read back from a session's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    /// The RSV bits as they sit in the first byte (0x40 = RSV1).
    pub rsv: u8,
    pub opcode: u8,
    /// Unmasked.
    pub payload: Vec<u8>,
}

/// Splits a session's output into frames, unmasking client frames.
pub fn parse_frames(mut wire: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (first, second) = (wire[0], wire[1]);
        let mut at = 2;
        let mut len = u64::from(second & 0x7f);
        if len == 126 {
            len = u64::from(u16::from_be_bytes([wire[2], wire[3]]));
            at = 4;
        } else if len == 127 {
            len = u64::from_be_bytes(wire[2..10].try_into().unwrap());
            at = 10;
        }
        let key = if second & 0x80 != 0 {
            let key: [u8; 4] = wire[at..at + 4].try_into().unwrap();
            at += 4;
            Some(key)
        } else {
            None
        };
        let len = len as usize;
        let mut payload = wire[at..at + len].to_vec();
        if let Some(key) = key {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: first & 0x80 != 0,
            rsv: first & 0x70,
            opcode: first & 0x0f,
            payload,
        });
        wire = &wire[at + len..];
    }
    frames
}

/// The compressed data a list of frames carries, as one continuous raw-DEFLATE stream: each
/// compressed message's payloads with the stripped tail put back. Uncompressed messages are
/// skipped (they never touch the context).
pub fn compressed_stream(frames: &[WireFrame]) -> Vec<u8> {
    let mut stream = Vec::new();
    let mut in_compressed = false;
    for frame in frames {
        if frame.opcode >= 0x8 {
            continue;
        }
        if frame.opcode != 0 {
            in_compressed = frame.rsv & 0x40 != 0;
        }
        if in_compressed {
            stream.extend_from_slice(&frame.payload);
            if frame.fin {
                stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
            }
        }
    }
    stream
}

/// The time passed to the session (these tests run no timers).
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}
