//! The HTTP/2 server (RFC 9113 on h2, RFC 8441 extended CONNECT) with our byte pipe and a
//! WebSocket session per stream, fed arbitrary frames by a client over an in-memory pipe:
//! SETTINGS, extended CONNECTs (with or without permessage-deflate), DATA carrying masked
//! WebSocket frames or raw bytes, large unfinished messages on several streams, window
//! updates, resets, pings, GOAWAY and raw frames of any type; then the client's end of input.
//! Each accepted WebSocket echoes what it receives.
//!
//! Invariants, per input:
//! - no panic, in h2, the pipe, the driver or the session;
//! - the server finishes: after the client's end of input, the connection and every
//!   WebSocket end within the server's own timers (virtual time, so no wall-clock wait);
//! - the heap stays within a budget set by the configured limits (4 streams, a connection
//!   budget of 8 KiB of buffered message bytes: two streams' messages of
//!   up to 4 KiB each fill it), not by the input.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wintergreen_codec::{OpCode, Rsv, encode_frame};
use wintergreen_http1::ServerConfig;
use wintergreen_http2::{Http2Acceptor, Http2Config, Incoming};
use wintergreen_stream::{Message, StreamConfig};

// Per stream (at most 4 at once): a session's receive buffer (frame limit + 128 KiB of
// headroom, doubled by growth), its message (4 KiB) and queued output (4 KiB), the h2 send
// queue (16 KiB), permessage-deflate both ways (~340 KiB); per connection: the tokio runtime,
// the in-memory pipe (2 × 64 KiB), h2's buffers and HPACK tables, the encoded input
// (≤ 256 KiB), and slack.
const BUDGET: usize = 4 * (2 * (2048 + (128 << 10)) + (8 << 10) + (16 << 10) + (384 << 10))
    + (1 << 20)
    + (256 << 10)
    + (1 << 20);

wintergreen_fuzz::budget!(BUDGET);

const STREAMS: u32 = 4;
/// What the input's frames may expand to on the wire (fills repeat a pattern).
const MAX_WIRE: usize = 256 << 10;

#[derive(Debug, Arbitrary)]
enum Frame {
    Settings(Vec<(u16, u32)>),
    SettingsAck,
    /// An extended CONNECT for `websocket` (HEADERS + END_HEADERS).
    Connect {
        stream: u8,
        deflate: bool,
        end_stream: bool,
    },
    /// A masked WebSocket frame in one DATA frame.
    Ws {
        stream: u8,
        fin: bool,
        rsv1: bool,
        opcode: u8,
        payload: Vec<u8>,
    },
    /// A WebSocket frame of (`len` mod 32) × 64 bytes of `byte` (up to the frame limit
    /// of 2 KiB; a large message in a few input bytes), split into DATA frames of 16 KiB.
    Fill {
        stream: u8,
        fin: bool,
        continuation: bool,
        len: u8,
        byte: u8,
    },
    /// Raw bytes in one DATA frame.
    Data {
        stream: u8,
        end_stream: bool,
        payload: Vec<u8>,
    },
    WindowUpdate {
        stream: u8,
        increment: u32,
    },
    Reset {
        stream: u8,
        code: u32,
    },
    Ping {
        ack: bool,
        data: [u8; 8],
    },
    GoAway {
        code: u32,
    },
    /// Any frame type, flags and stream, as is.
    Raw {
        kind: u8,
        flags: u8,
        stream: u32,
        payload: Vec<u8>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// Bytes written per write (0: all at once), so frames arrive split anywhere.
    chunk: u16,
    frames: Vec<Frame>,
}

fuzz_target!(|input: Input| {
    with_budget(|| run(input));
});

/// Client stream ids are odd; a few of them, so frames meet the same streams.
fn stream_id(stream: u8) -> u32 {
    u32::from(stream % 8) * 2 + 1
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = payload.len().min(0xff_ffff);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(&payload[..len]);
}

/// An HPACK integer with an `prefix`-bit prefix (RFC 7541 §5.1), after `first`'s high bits.
fn hpack_int(out: &mut Vec<u8>, first: u8, prefix: u8, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2).
fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0x00);
    hpack_int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    hpack_int(out, 0, 7, value.len());
    out.extend_from_slice(value.as_bytes());
}

fn ws_frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    let opcode = OpCode::from_u8(opcode % 16).unwrap_or(OpCode::Binary);
    let rsv = if rsv1 { Rsv::RSV1 } else { Rsv::NONE };
    encode_frame(
        &mut out,
        fin,
        rsv,
        opcode,
        Some([0x11, 0x22, 0x33, 0x44]),
        payload,
    );
    out
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    frame(&mut out, 0x4, 0, 0, &[]);
    for f in frames {
        if out.len() > MAX_WIRE {
            break;
        }
        match f {
            Frame::Settings(settings) => {
                let payload: Vec<u8> = settings
                    .iter()
                    .flat_map(|(id, value)| {
                        let mut s = id.to_be_bytes().to_vec();
                        s.extend_from_slice(&value.to_be_bytes());
                        s
                    })
                    .collect();
                frame(&mut out, 0x4, 0, 0, &payload);
            }
            Frame::SettingsAck => frame(&mut out, 0x4, 0x1, 0, &[]),
            Frame::Connect {
                stream,
                deflate,
                end_stream,
            } => {
                let mut block = Vec::new();
                for (name, value) in [
                    (":method", "CONNECT"),
                    (":protocol", "websocket"),
                    (":scheme", "http"),
                    (":path", "/fuzz"),
                    (":authority", "localhost"),
                    ("sec-websocket-version", "13"),
                ] {
                    hpack_literal(&mut block, name, value);
                }
                if *deflate {
                    hpack_literal(&mut block, "sec-websocket-extensions", "permessage-deflate");
                }
                let flags = 0x4 | u8::from(*end_stream);
                frame(&mut out, 0x1, flags, stream_id(*stream), &block);
            }
            Frame::Ws {
                stream,
                fin,
                rsv1,
                opcode,
                payload,
            } => {
                let ws = ws_frame(*fin, *rsv1, *opcode, payload);
                frame(&mut out, 0x0, 0, stream_id(*stream), &ws);
            }
            Frame::Fill {
                stream,
                fin,
                continuation,
                len,
                byte,
            } => {
                let payload = vec![*byte; usize::from(*len % 32) * 64];
                let opcode = if *continuation { 0x0 } else { 0x2 };
                let ws = ws_frame(*fin, false, opcode, &payload);
                for piece in ws.chunks(16 << 10) {
                    frame(&mut out, 0x0, 0, stream_id(*stream), piece);
                }
            }
            Frame::Data {
                stream,
                end_stream,
                payload,
            } => {
                frame(
                    &mut out,
                    0x0,
                    u8::from(*end_stream),
                    stream_id(*stream),
                    payload,
                );
            }
            Frame::WindowUpdate { stream, increment } => {
                let id = if *stream == 0 { 0 } else { stream_id(*stream) };
                frame(&mut out, 0x8, 0, id, &increment.to_be_bytes());
            }
            Frame::Reset { stream, code } => {
                frame(&mut out, 0x3, 0, stream_id(*stream), &code.to_be_bytes());
            }
            Frame::Ping { ack, data } => frame(&mut out, 0x6, u8::from(*ack), 0, data),
            Frame::GoAway { code } => {
                let mut payload = 0u32.to_be_bytes().to_vec();
                payload.extend_from_slice(&code.to_be_bytes());
                frame(&mut out, 0x7, 0, 0, &payload);
            }
            Frame::Raw {
                kind,
                flags,
                stream,
                payload,
            } => {
                frame(&mut out, *kind, *flags, *stream, payload);
            }
        }
    }
    out
}

fn run(input: Input) {
    let wire = encode(&input.frames);
    let chunk = match usize::from(input.chunk) {
        0 => wire.len().max(1),
        n => n,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async move {
        let mut config = Http2Config::default();
        config.max_concurrent_streams = STREAMS;
        config.accept_backlog = STREAMS as usize;
        config.max_send_buffer_size = 16 << 10;
        config.max_buffered_message_bytes = 8 << 10;
        let mut server = ServerConfig::default();
        server.session.max_message_size = 4096;
        server.session.max_frame_size = 2048;
        server.session.max_pending_output = 4096;
        server.policy = server.policy.extension(Arc::new(
            wintergreen_deflate::DeflateFactory::server_default(),
        ));
        let (client, server_io) = tokio::io::duplex(64 << 10);
        let accepting = tokio::spawn(async move {
            let Ok(mut acceptor) = Http2Acceptor::handshake(
                server_io,
                &server,
                &StreamConfig::default(),
                &config,
                Arc::new(wintergreen_tokio::Tokio),
            )
            .await
            else {
                return;
            };
            let mut echoes = Vec::new();
            while let Some(Ok(incoming)) = acceptor.next().await {
                if let Incoming::WebSocket(accepted) = incoming {
                    echoes.push(tokio::spawn(async move {
                        let mut ws = accepted.stream;
                        while let Some(Ok(message)) = ws.next_message().await {
                            if matches!(message, Message::Text(_) | Message::Binary(_))
                                && ws.send_message(message).await.is_err()
                            {
                                break;
                            }
                        }
                    }));
                }
            }
            for echo in echoes {
                let _ = echo.await;
            }
        });
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let draining = tokio::spawn(async move {
            let mut buf = vec![0u8; 16 << 10];
            while let Ok(n) = from_server.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        for piece in wire.chunks(chunk) {
            if to_server.write_all(piece).await.is_err() {
                break;
            }
        }
        let _ = to_server.shutdown().await;
        // Virtual time: the server's own timers (handshake 10 s, idle 60 s, close 10 s,
        // shutdown grace 5 s) all pass well within this.
        let finished = tokio::time::timeout(Duration::from_secs(600), async {
            let _ = accepting.await;
            drop(to_server);
            let _ = draining.await;
        })
        .await;
        assert!(
            finished.is_ok(),
            "the server did not finish after the client's end of input"
        );
    });
}
