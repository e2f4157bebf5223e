//! The workloads and peers shared by the criterion benchmarks (`codec.rs`) and the
//! interleaved ratio report (`ratios.rs`). See `codec.rs` for what each group measures.

use std::future::Future;
use std::hint::black_box;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use wintergreen_codec::{Config, Event, Message, OpCode, Role, Rsv, Session, encode_frame};

/// Message sizes, and how many messages one iteration handles (about 0.2–4 MiB of frames, so
/// an iteration is long enough to time and short enough to sample often).
pub(crate) const SIZES: [(&str, usize, usize); 4] = [
    ("16B", 16, 10_000),
    ("1KiB", 1 << 10, 1_000),
    ("64KiB", 64 << 10, 32),
    ("1MiB", 1 << 20, 4),
];

/// How much the `wintergreen-receive` peer is handed per `receive`: fixed slices, like
/// tungstenite's default read buffer (`WebSocketConfig::read_buffer_size`, 128 KiB).
const READ_CHUNK: usize = 128 << 10;

/// The async driver's read buffer size (`wintergreen_stream::Config::read_buffer_size`'s
/// default, 64 KiB), for the `wintergreen` decode peer.
const DRIVER_READ: usize = 64 << 10;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The benchmark groups, in the order they run.
pub(crate) const KINDS: [Kind; 4] = [Kind::Mask, Kind::MaskFrame, Kind::Decode, Kind::Encode];

/// What a group measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Masking a buffer in place.
    Mask,
    /// Writing one masked frame (header, copy, mask) into a reused buffer.
    MaskFrame,
    /// A client reading `msgs` binary messages from a stream of unmasked server frames.
    Decode,
    /// A client sending `msgs` binary messages, masked, each written out to a sink.
    Encode,
}

impl Kind {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Mask => "mask",
            Self::MaskFrame => "mask_frame",
            Self::Decode => "decode",
            Self::Encode => "encode",
        }
    }
}

/// One peer in a group: `run(iters)` does `iters` iterations and returns the thread CPU time
/// they took ([`cpu_now`]), leaving out any per-iteration setup (criterion's `iter_custom`
/// contract).
pub(crate) struct Peer {
    pub(crate) name: &'static str,
    pub(crate) run: Box<dyn FnMut(u64) -> Duration>,
}

/// A group: one workload at one size, and every peer that can do it.
pub(crate) struct Case {
    pub(crate) kind: Kind,
    pub(crate) label: &'static str,
    pub(crate) size: usize,
    /// Messages per iteration (1 for the masking groups).
    pub(crate) msgs: usize,
    pub(crate) peers: Vec<Peer>,
}

impl Case {
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.kind.name(), self.label)
    }
}

/// The calling thread's CPU time. Peers are timed with it rather than wall time, so the
/// time this thread spends preempted (another process on a shared machine) counts for no
/// peer; what such a process does to the caches still does. Nanosecond resolution on Linux.
fn cpu_now() -> Duration {
    use rustix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::ThreadCPUTime);
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(now.tv_nsec).unwrap_or(0);
    Duration::new(secs, nanos)
}

/// Times `iters` calls of `f`, in thread CPU time ([`cpu_now`]).
fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = cpu_now();
    for _ in 0..iters {
        f();
    }
    cpu_now().saturating_sub(start)
}

fn peer(name: &'static str, run: impl FnMut(u64) -> Duration + 'static) -> Peer {
    Peer {
        name,
        run: Box::new(run),
    }
}

/// Builds the group `kind` at `SIZES[index]`, checking untimed that every peer does the same
/// work (same bytes out, same messages in).
pub(crate) fn case(kind: Kind, index: usize) -> Case {
    let (label, size, n) = SIZES[index];
    let data = payload(size);
    let (msgs, peers) = match kind {
        Kind::Mask => (1, mask_peers(data)),
        Kind::MaskFrame => (1, mask_frame_peers(data)),
        Kind::Decode => (n, decode_peers(data, n)),
        Kind::Encode => (n, encode_peers(data, n)),
    };
    Case {
        kind,
        label,
        size,
        msgs,
        peers,
    }
}

fn mask_peers(data: Vec<u8>) -> Vec<Peer> {
    let mut ours = data.clone();
    let mut theirs = data;
    vec![
        peer("wintergreen", move |iters| {
            timed(iters, || {
                wintergreen_codec::apply_mask(black_box(&mut ours), black_box(KEY));
            })
        }),
        // tungstenite's own masking function is private; this is its code (fastwebsockets
        // copied `apply_mask_fast32`, and says so in its source).
        peer("fastwebsockets", move |iters| {
            timed(iters, || {
                fastwebsockets::unmask(black_box(&mut theirs), black_box(KEY));
            })
        }),
    ]
}

fn mask_frame_peers(data: Vec<u8>) -> Vec<Peer> {
    let size = data.len();
    // Same bytes out of both.
    let mut ours = BytesMut::new();
    encode_frame(&mut ours, true, Rsv::NONE, OpCode::Binary, Some(KEY), &data);
    let mut theirs = Vec::new();
    tungstenite_masked_frame(&data)
        .format(&mut theirs)
        .expect("tungstenite: format");
    assert!(ours[..] == theirs[..], "mask_frame: outputs differ");

    let data = std::rc::Rc::new(data);
    let (ours_data, mut ours_out) = (data.clone(), BytesMut::with_capacity(size + 14));
    let mut theirs_out = Vec::with_capacity(size + 14);
    // Frames are prepared in batches of about 256 KiB, so the ones being formatted are still
    // in cache, as wintergreen's reused payload is.
    let batch = ((256usize << 10) / size.max(1)).max(1) as u64;
    vec![
        peer("wintergreen", move |iters| {
            timed(iters, || {
                ours_out.clear();
                let key = Some(black_box(KEY));
                encode_frame(
                    &mut ours_out,
                    true,
                    Rsv::NONE,
                    OpCode::Binary,
                    key,
                    &ours_data,
                );
            })
        }),
        // `Frame::format` consumes the frame; building it (allocating and filling a uniquely
        // owned payload, which `format` then masks in place) is setup, untimed.
        peer("tungstenite", move |iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let now = left.min(batch);
                left -= now;
                let frames: Vec<_> = (0..now).map(|_| tungstenite_masked_frame(&data)).collect();
                let start = cpu_now();
                for frame in frames {
                    theirs_out.clear();
                    frame.format(&mut theirs_out).expect("tungstenite: format");
                }
                total += cpu_now().saturating_sub(start);
            }
            total
        }),
    ]
}

fn tungstenite_masked_frame(data: &[u8]) -> tungstenite::protocol::frame::Frame {
    use tungstenite::protocol::frame::{Frame, coding::Data, coding::OpCode};
    let payload = Bytes::from(data.to_vec());
    let mut frame = Frame::message(payload, OpCode::Data(Data::Binary), true);
    frame.header_mut().mask = Some(black_box(KEY));
    frame
}

fn decode_peers(data: Vec<u8>, n: usize) -> Vec<Peer> {
    let wire = server_frames(&data, n);
    let total = data.len() * n;

    // Untimed: every peer reads the same first message out of `wire`.
    let mut s = wintergreen_client();
    s.receive(std::time::Instant::now(), &wire);
    match s.poll_event() {
        Some(Ok(Event::Message(Message::Binary(got)))) => assert!(got == data[..]),
        other => panic!("wintergreen: {other:?}"),
    }
    match tungstenite_client(wire.clone()).read() {
        Ok(tungstenite::Message::Binary(got)) => assert!(got == data[..]),
        other => panic!("tungstenite: {other:?}"),
    }
    let mut f = fastwebsockets::FragmentCollector::new(fastwebsockets_client(wire.clone()));
    let first = block_on(f.read_frame()).expect("fastwebsockets: read");
    assert!(first.payload[..] == data[..]);
    let mut t = tokio_websockets_client(wire.clone());
    let first = block_on(t.next())
        .expect("tokio-websockets: end")
        .expect("tokio-websockets: read");
    assert!(first.as_payload()[..] == data[..]);

    let mut session = wintergreen_client();
    let mut driven = (wintergreen_client(), Wire::new(wire.clone()));
    let mut tws = tungstenite_client(wire.clone());
    let mut fws = fastwebsockets::FragmentCollector::new(fastwebsockets_client(wire.clone()));
    let mut tkws = tokio_websockets_client(wire.clone());
    vec![
        peer("wintergreen", move |iters| {
            let (session, wire) = &mut driven;
            timed(iters, || {
                assert_eq!(wintergreen_driver_decode(session, wire, n), total);
            })
        }),
        peer("wintergreen-receive", move |iters| {
            timed(iters, || {
                assert_eq!(wintergreen_decode(&mut session, &wire, n), total);
            })
        }),
        peer("tungstenite", move |iters| {
            timed(iters, || assert_eq!(tungstenite_decode(&mut tws, n), total))
        }),
        peer("fastwebsockets", move |iters| {
            timed(iters, || {
                assert_eq!(fastwebsockets_decode(&mut fws, n), total)
            })
        }),
        peer("tokio-websockets", move |iters| {
            timed(iters, || {
                assert_eq!(tokio_websockets_decode(&mut tkws, n), total);
            })
        }),
    ]
}

fn encode_peers(data: Vec<u8>, n: usize) -> Vec<Peer> {
    let size = data.len();
    let shared = Bytes::from(data.clone());
    // One iteration's frames must fit the sink, so the check can read them all back.
    let check = |peer: &str, wire: &Wire| {
        assert!(wire.written == wire.out.len(), "{peer}: sink wrapped");
        assert_sent(peer, &wire.out, &data, n);
    };
    let roomy = || {
        let mut wire = Wire::new(Vec::new());
        wire.out.reserve(n * (size + 14));
        wire
    };

    // Untimed: one iteration of each peer, decoded and compared.
    let mut sink = roomy();
    wintergreen_encode(&mut wintergreen_client(), &mut sink, &data, n);
    check("wintergreen", &sink);
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(roomy(), tungstenite::protocol::Role::Client, None);
    tungstenite_encode(&mut ws, &shared, n);
    check("tungstenite", ws.get_ref());
    let mut ws = fastwebsockets::WebSocket::after_handshake(roomy(), fastwebsockets::Role::Client);
    fastwebsockets_encode(&mut ws, &data, n);
    check("fastwebsockets", &ws.into_inner());
    let mut ws = tokio_websockets::ClientBuilder::new().take_over(roomy());
    tokio_websockets_encode(&mut ws, &shared, n);
    check("tokio-websockets", ws.get_ref());

    let mut session = wintergreen_client();
    let mut sink = Wire::new(Vec::new());
    let mut tws = tungstenite_client(Vec::new());
    let mut fws = fastwebsockets_client(Vec::new());
    let mut tkws = tokio_websockets_client(Vec::new());
    let fws_data = data.clone();
    let tkws_shared = shared.clone();
    vec![
        peer("wintergreen", move |iters| {
            timed(iters, || {
                wintergreen_encode(&mut session, &mut sink, &data, n)
            })
        }),
        peer("tungstenite", move |iters| {
            timed(iters, || tungstenite_encode(&mut tws, &shared, n))
        }),
        peer("fastwebsockets", move |iters| {
            timed(iters, || fastwebsockets_encode(&mut fws, &fws_data, n))
        }),
        peer("tokio-websockets", move |iters| {
            timed(iters, || {
                tokio_websockets_encode(&mut tkws, &tkws_shared, n)
            })
        }),
    ]
}

/// Deterministic, incompressible-looking payload bytes.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `n` unmasked binary frames of `data`, as a server sends them.
fn server_frames(data: &[u8], n: usize) -> Vec<u8> {
    let mut wire = BytesMut::new();
    for _ in 0..n {
        encode_frame(&mut wire, true, Rsv::NONE, OpCode::Binary, None, data);
    }
    wire.to_vec()
}

// ---------------------------------------------------------------------------------------------
// In-memory transport

/// An in-memory connection. Reads replay `input` over and over (it holds whole frames, so the
/// reader sees an endless stream of them and needs no reset between iterations); writes are
/// copied into `out`, which is emptied whenever it would grow past its capacity, so it never
/// reallocates once warm.
struct Wire {
    input: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
    written: usize,
}

impl Wire {
    fn new(input: Vec<u8>) -> Self {
        Self {
            input,
            pos: 0,
            out: Vec::with_capacity(256 << 10),
            written: 0,
        }
    }

    /// The next bytes to read, at most `max`; `None` when there is no input at all.
    fn next_input(&mut self, max: usize) -> Option<&[u8]> {
        if self.input.is_empty() {
            return None;
        }
        if self.pos == self.input.len() {
            self.pos = 0;
        }
        let start = self.pos;
        let n = max.min(self.input.len() - start);
        self.pos += n;
        Some(&self.input[start..start + n])
    }

    fn sink(&mut self, data: &[u8]) {
        if self.out.len() + data.len() > self.out.capacity() {
            self.out.clear();
        }
        self.out.extend_from_slice(data);
        self.written += data.len();
    }
}

impl io::Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(src) = self.next_input(buf.len()) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let n = src.len();
        buf[..n].copy_from_slice(src);
        Ok(n)
    }
}

impl io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sink(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.next_input(buf.remaining()) {
            Some(src) => {
                buf.put_slice(src);
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

impl tokio::io::AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().sink(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut n = 0;
        for buf in bufs {
            this.sink(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future over [`Wire`]s to completion. It never waits: in-memory I/O is always ready.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("in-memory I/O never blocks"),
    }
}

// ---------------------------------------------------------------------------------------------
// The peers, each doing one iteration's work. Each returns the payload bytes it handled, which
// the caller checks against the expected total.

/// wintergreen handed fixed slices: `receive` each 128 KiB chunk of the iteration's frames,
/// then `poll_event` until it has no more. The caller does not choose where a read ends, so
/// frames straddle the slices.
fn wintergreen_decode(session: &mut Session, wire: &[u8], n: usize) -> usize {
    let (mut msgs, mut bytes) = (0, 0);
    for chunk in wire.chunks(READ_CHUNK) {
        session.receive(std::time::Instant::now(), chunk);
        while let Some(event) = session.poll_event() {
            match event {
                Ok(Event::Message(Message::Binary(data))) => {
                    msgs += 1;
                    bytes += black_box(data).len();
                }
                other => panic!("wintergreen: unexpected {other:?}"),
            }
        }
    }
    assert_eq!(msgs, n);
    bytes
}

/// wintergreen the way the async driver reads (`wintergreen-stream`, `poll_next`), which is
/// what every user of `WebSocketStream` runs, and like the other peers, which size their
/// reads from the in-memory stream themselves: events first; when there are none, give `receive_buffer()` a capacity if it has none, then
/// `prepare_receive`, a read into the buffer's spare capacity of at most what that returned
/// (what `tokio_util::io::poll_read_buf` does through `BufMut::limit`), then `received`.
fn wintergreen_driver_decode(session: &mut Session, wire: &mut Wire, n: usize) -> usize {
    let (mut msgs, mut bytes) = (0, 0);
    while msgs < n {
        match session.poll_event() {
            Some(Ok(Event::Message(Message::Binary(data)))) => {
                msgs += 1;
                bytes += black_box(data).len();
                continue;
            }
            Some(other) => panic!("wintergreen: unexpected {other:?}"),
            None => {}
        }
        let buf = session.receive_buffer();
        if buf.capacity() == 0 {
            *buf = BytesMut::with_capacity(DRIVER_READ);
        }
        let limit = session.prepare_receive(DRIVER_READ);
        let buf = session.receive_buffer();
        let room = limit.min(buf.capacity() - buf.len());
        let src = wire.next_input(room).expect("wintergreen: input");
        buf.extend_from_slice(src);
        let read = src.len();
        session.received(std::time::Instant::now(), read);
    }
    bytes
}

fn tungstenite_decode(ws: &mut tungstenite::WebSocket<Wire>, n: usize) -> usize {
    let mut bytes = 0;
    for _ in 0..n {
        match ws.read() {
            Ok(tungstenite::Message::Binary(data)) => bytes += black_box(data).len(),
            other => panic!("tungstenite: unexpected {other:?}"),
        }
    }
    bytes
}

fn fastwebsockets_decode(ws: &mut fastwebsockets::FragmentCollector<Wire>, n: usize) -> usize {
    block_on(async {
        let mut bytes = 0;
        for _ in 0..n {
            let frame = ws.read_frame().await.expect("fastwebsockets: read");
            assert_eq!(frame.opcode, fastwebsockets::OpCode::Binary);
            bytes += black_box(frame.payload).len();
        }
        bytes
    })
}

fn tokio_websockets_decode(ws: &mut tokio_websockets::WebSocketStream<Wire>, n: usize) -> usize {
    block_on(async {
        let mut bytes = 0;
        for _ in 0..n {
            let msg = ws
                .next()
                .await
                .expect("tokio-websockets: end of stream")
                .expect("tokio-websockets: read");
            assert!(msg.is_binary());
            bytes += black_box(msg.into_payload()).len();
        }
        bytes
    })
}

/// wintergreen: `send_binary`, then `take_output` and write it out.
fn wintergreen_encode(session: &mut Session, sink: &mut Wire, data: &[u8], n: usize) {
    for _ in 0..n {
        session.send_binary(data).expect("wintergreen: send");
        let out = session.take_output();
        sink.sink(&out);
    }
}

/// tungstenite: `send` (write, then flush to the stream), one message at a time.
fn tungstenite_encode(ws: &mut tungstenite::WebSocket<Wire>, data: &Bytes, n: usize) {
    for _ in 0..n {
        ws.send(tungstenite::Message::Binary(data.clone()))
            .expect("tungstenite: send");
    }
}

/// fastwebsockets: `write_frame` of a borrowed payload (it copies it to mask it; large ones go
/// out with a vectored write), then `flush`.
fn fastwebsockets_encode(ws: &mut fastwebsockets::WebSocket<Wire>, data: &[u8], n: usize) {
    block_on(async {
        for _ in 0..n {
            let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(data));
            ws.write_frame(frame).await.expect("fastwebsockets: write");
            ws.flush().await.expect("fastwebsockets: flush");
        }
    });
}

/// tokio-websockets: `SinkExt::send` (feed, then flush).
fn tokio_websockets_encode(
    ws: &mut tokio_websockets::WebSocketStream<Wire>,
    data: &Bytes,
    n: usize,
) {
    block_on(async {
        for _ in 0..n {
            ws.send(tokio_websockets::Message::binary(data.clone()))
                .await
                .expect("tokio-websockets: send");
        }
    });
}

fn wintergreen_client() -> Session {
    Session::new(Role::Client, Config::default())
}

fn tungstenite_client(input: Vec<u8>) -> tungstenite::WebSocket<Wire> {
    tungstenite::WebSocket::from_raw_socket(
        Wire::new(input),
        tungstenite::protocol::Role::Client,
        None,
    )
}

fn fastwebsockets_client(input: Vec<u8>) -> fastwebsockets::WebSocket<Wire> {
    fastwebsockets::WebSocket::after_handshake(Wire::new(input), fastwebsockets::Role::Client)
}

fn tokio_websockets_client(input: Vec<u8>) -> tokio_websockets::WebSocketStream<Wire> {
    tokio_websockets::ClientBuilder::new().take_over(Wire::new(input))
}

/// Checks, once and untimed, that a client's output is `n` masked binary frames carrying
/// `data`: wintergreen's server session requires the masks and unmasks them.
fn assert_sent(peer: &str, out: &[u8], data: &[u8], n: usize) {
    let mut server = Session::new(Role::Server, Config::default());
    server.receive(std::time::Instant::now(), out);
    for i in 0..n {
        match server.poll_event() {
            Some(Ok(Event::Message(Message::Binary(got)))) => {
                assert!(got == data, "{peer}: message {i} differs");
            }
            other => panic!("{peer}: message {i}: {other:?}"),
        }
    }
    assert!(server.poll_event().is_none(), "{peer}: extra output");
}
