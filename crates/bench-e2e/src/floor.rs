//! The library-free floor: a hand-made HTTP/1.1 upgrade in both roles, then the least work
//! RFC 6455 allows per message. The client writes one pre-masked frame and reads one frame;
//! the server reads a frame, unmasks it in place and writes it back from the same buffer
//! (the 4 bytes the mask key took become the start of the reply's header): one read and one
//! write each way, no copy, no allocation. Any library's cost above it is its own.
//!
//! The upgrade here also serves fastwebsockets (which leaves the handshake to hyper; the
//! benchmark keeps hyper out so that only the frame path is compared).

// The frame parser slices buffers whose lengths it has just checked.
#![allow(clippy::indexing_slicing)]

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncRead as _, AsyncReadExt as _, AsyncWrite as _, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

/// The upgrade head is at most this long (both roles).
const MAX_HEAD: usize = 8 * 1024;
/// RFC 6455 §1.3.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// RFC 6455 §1.3's sample nonce: the floor needs no randomness for a benchmark.
const CLIENT_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The floor client's mask key (any key is as costly to the server as any other).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The client's half of the upgrade on a connected socket.
pub async fn client_upgrade(tcp: &mut TcpStream, host: &str) -> Result<()> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {CLIENT_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let head = read_head(tcp).await?;
    if !head.starts_with("HTTP/1.1 101") {
        bail!("upgrade refused: {}", head.lines().next().unwrap_or(""));
    }
    Ok(())
}

/// The server's half of the upgrade on an accepted socket.
pub async fn server_upgrade(tcp: &mut TcpStream) -> Result<()> {
    let head = read_head(tcp).await?;
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .context("no Sec-WebSocket-Key")?;
    let accept = base64::engine::general_purpose::STANDARD
        .encode(Sha1::digest(format!("{key}{GUID}").as_bytes()));
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    tcp.write_all(response.as_bytes()).await?;
    Ok(())
}

/// Reads up to and including the blank line that ends an HTTP head, and nothing after it:
/// each round peeks at what has arrived, then consumes only the head's part of it (two
/// system calls for a head that arrives whole, rather than one per byte).
async fn read_head(tcp: &mut TcpStream) -> Result<String> {
    const END: &[u8; 4] = b"\r\n\r\n";
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    // How many bytes of `END` the head ends with so far.
    let mut matched = 0;
    while matched < END.len() {
        if head.len() >= MAX_HEAD {
            bail!("upgrade head over {MAX_HEAD} bytes");
        }
        let n = tcp
            .peek(&mut chunk)
            .await
            .context("reading the upgrade head")?;
        if n == 0 {
            bail!("the peer closed the connection during the upgrade");
        }
        let mut take = 0;
        for &byte in chunk.iter().take(n.min(MAX_HEAD - head.len())) {
            take += 1;
            matched = if END.get(matched) == Some(&byte) {
                matched + 1
            } else {
                usize::from(byte == b'\r')
            };
            if matched == END.len() {
                break;
            }
        }
        let start = head.len();
        head.resize(start + take, 0);
        tcp.read_exact(&mut head[start..])
            .await
            .context("reading the upgrade head")?;
    }
    String::from_utf8(head).context("upgrade head is not UTF-8")
}

/// A frame header's length for a payload of `len` bytes, with or without a mask key.
fn header_len(len: usize, masked: bool) -> usize {
    let ext = match len {
        0..=125 => 0,
        126..=0xffff => 2,
        _ => 8,
    };
    2 + ext + if masked { 4 } else { 0 }
}

/// Writes a FIN frame header of `opcode` for `len` bytes into `out` (which is exactly
/// `header_len(len, mask.is_some())` long).
fn write_header(out: &mut [u8], opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = 2;
    let mut head = [0u8; 14];
    head[0] = 0x80 | opcode;
    match len {
        0..=125 => head[1] = mask_bit | len as u8,
        126..=0xffff => {
            head[1] = mask_bit | 126;
            head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            at = 4;
        }
        _ => {
            head[1] = mask_bit | 127;
            head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            at = 10;
        }
    }
    if let Some(key) = mask {
        head[at..at + 4].copy_from_slice(&key);
        at += 4;
    }
    out.copy_from_slice(&head[..at]);
}

/// XORs `buf` with the mask key, eight bytes at a time (the compiler vectorises the loop).
fn unmask(buf: &mut [u8], key: [u8; 4]) {
    let key32 = u32::from_ne_bytes(key);
    let key64 = u64::from(key32) | (u64::from(key32) << 32);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ key64).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so the key starts over at its first byte.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// One FIN frame of `opcode` carrying `payload`, masked as a client sends it.
pub fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let head = header_len(payload.len(), true);
    let mut frame = vec![0u8; head + payload.len()];
    let (h, body) = frame.split_at_mut(head);
    write_header(h, opcode, payload.len(), Some(MASK));
    body.copy_from_slice(payload);
    unmask(body, MASK);
    frame
}

/// One FIN frame of `opcode` carrying `payload`, unmasked as a server sends it: the same
/// bytes serve every connection.
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let head = header_len(payload.len(), false);
    let mut frame = vec![0u8; head + payload.len()];
    let (h, body) = frame.split_at_mut(head);
    write_header(h, opcode, payload.len(), None);
    body.copy_from_slice(payload);
    frame
}

/// Reads one whole frame with exact reads (put a `BufReader` under it for fewer system
/// calls) into `payload`, unmasked, and returns its opcode; `None` at a clean EOF before a
/// frame. Fails on a fragment, and on a payload over `max_len` bytes.
pub async fn read_frame<R>(r: &mut R, payload: &mut Vec<u8>, max_len: usize) -> Result<Option<u8>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut head = [0u8; 14];
    match r.read_exact(&mut head[..2]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    // The rest of the header: the extended length and the mask key, as the first two
    // bytes announce.
    let ext = match head[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let rest = ext + if head[1] & 0x80 != 0 { 4 } else { 0 };
    r.read_exact(&mut head[2..2 + rest]).await?;
    let h = parse_header(&head[..2 + rest])?.context("a whole frame header")?;
    if h.len > max_len {
        bail!("a frame of {} bytes, over {max_len}", h.len);
    }
    payload.resize(h.len, 0);
    r.read_exact(payload).await?;
    if let Some(key) = h.mask {
        unmask(payload, key);
    }
    Ok(Some(h.opcode))
}

/// A parsed frame header: opcode, payload length, mask key, header length.
struct Header {
    opcode: u8,
    len: usize,
    mask: Option<[u8; 4]>,
    header_len: usize,
}

/// Parses a header at the start of `buf`, or `None` when more bytes are needed.
fn parse_header(buf: &[u8]) -> Result<Option<Header>> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x80 == 0 {
        bail!("the floor handles unfragmented messages only");
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                (usize::try_from(u64::from_be_bytes(be))?, 10)
            }
            None => return Ok(None),
        },
        n => (usize::from(n), 2),
    };
    let mask = if masked {
        match buf.get(at..at + 4) {
            Some(b) => {
                at += 4;
                Some([b[0], b[1], b[2], b[3]])
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Header {
        opcode: b0 & 0x0f,
        len,
        mask,
        header_len: at,
    }))
}

/// The floor client's connection: the pre-masked frame (and, for bursts, that many copies
/// of it back to back) and a read buffer.
#[derive(Debug)]
pub struct FloorClient {
    tcp: TcpStream,
    frame: Vec<u8>,
    frames: Vec<u8>,
    buf: Vec<u8>,
}

impl FloorClient {
    /// Connects, upgrades and masks `payload` once into the frame every echo writes.
    pub async fn connect(addr: std::net::SocketAddr, payload: &[u8]) -> Result<Self> {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        client_upgrade(&mut tcp, &addr.to_string()).await?;
        let frame = masked_frame(0x2, payload);
        let buf = vec![0u8; header_len(payload.len(), false) + payload.len()];
        Ok(Self {
            tcp,
            frame,
            frames: Vec::new(),
            buf,
        })
    }

    /// Writes the frame `burst` times with one write, then reads until `burst` whole frames
    /// have come back.
    pub async fn echo(&mut self, burst: usize) -> Result<()> {
        if burst == 1 {
            self.tcp.write_all(&self.frame).await?;
        } else {
            if self.frames.len() != burst * self.frame.len() {
                self.frames = self.frame.repeat(burst);
            }
            self.tcp.write_all(&self.frames).await?;
        }
        let (mut filled, mut start, mut left) = (0, 0, burst);
        loop {
            while let Some(h) = parse_header(&self.buf[start..filled])? {
                let total = h.header_len + h.len;
                if filled - start < total {
                    if self.buf.len() - start < total {
                        self.buf.resize(start + total, 0);
                    }
                    break;
                }
                if h.opcode != 0x2 {
                    bail!("expected binary frames back");
                }
                start += total;
                left -= 1;
                if left == 0 {
                    if filled > start {
                        bail!("more frames came back than were sent");
                    }
                    return Ok(());
                }
            }
            if filled == self.buf.len() {
                // Room for the rest of the burst, about one frame each.
                let more = self.buf.len().max(self.frame.len() * left);
                self.buf.resize(self.buf.len() + more, 0);
            }
            let n = self.tcp.read(&mut self.buf[filled..]).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            filled += n;
        }
    }
}

thread_local! {
    /// The floor server's read buffer, one per thread, shared by its connections: what a
    /// connection holds between messages is only an incomplete frame (see [`serve`]).
    static SHARED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Room the shared buffer has for one read, past any carried-over bytes.
const READ_SIZE: usize = 64 * 1024;

/// What one read of the floor server led to.
enum Echoed {
    /// The frames read were echoed (or nothing was ready): wait for the next read.
    Done,
    /// The socket took only part of the replies: these bytes are still to be written.
    Unsent(Vec<u8>),
    /// The peer left, or sent a close frame (answered).
    End,
}

/// The floor server: after the upgrade, echo every data frame until close or EOF.
///
/// Reads go into the thread's shared buffer, where frames are unmasked and answered in
/// place; a connection keeps nothing between messages but the bytes of a frame that has
/// not fully arrived (and, should the socket push back, the replies it did not take), so
/// that its idle memory is the task and the socket alone.
pub async fn serve(mut tcp: TcpStream) -> Result<()> {
    // Boxed: the upgrade's state (its 1 KiB peek buffer) would otherwise stay in the
    // connection's task for its whole life, a task being as large as its largest state.
    Box::pin(server_upgrade(&mut tcp)).await?;
    let mut carry = Vec::new();
    loop {
        // The shared buffer is borrowed within one poll, never across an await.
        let echoed = std::future::poll_fn(|cx| {
            SHARED.with_borrow_mut(|buf| echo_ready(&mut tcp, cx, buf, &mut carry))
        })
        .await?;
        match echoed {
            Echoed::Done => {}
            Echoed::Unsent(rest) => tcp.write_all(&rest).await?,
            Echoed::End => return Ok(()),
        }
    }
}

/// One read into `buf` (after the `carry`-over bytes), every complete frame echoed, an
/// incomplete one carried over.
///
/// Reads and writes through `AsyncRead`/`AsyncWrite` polls (as every library does): tokio
/// then takes a short read as the end of what is ready, sparing a read that would block.
fn echo_ready(
    tcp: &mut TcpStream,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
    carry: &mut Vec<u8>,
) -> Poll<Result<Echoed>> {
    let carried = carry.len();
    if buf.len() < carried + READ_SIZE {
        buf.resize(carried + READ_SIZE, 0);
    }
    buf[..carried].copy_from_slice(carry);
    let mut read = ReadBuf::new(&mut buf[carried..]);
    let n = match Pin::new(&mut *tcp).poll_read(cx, &mut read) {
        Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(Ok(Echoed::End)),
        Poll::Ready(Ok(())) => read.filled().len(),
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
        Poll::Pending => return Poll::Pending,
    };
    Poll::Ready(echo_frames(tcp, cx, buf, carried + n, carry))
}

/// Echoes every complete frame of `buf[..filled]`; carries an incomplete one over.
fn echo_frames(
    tcp: &mut TcpStream,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    filled: usize,
    carry: &mut Vec<u8>,
) -> Result<Echoed> {
    let mut start = 0;
    let mut unsent = Vec::new();
    while let Some(h) = parse_header(&buf[start..filled])? {
        let end = start + h.header_len + h.len;
        if end > filled {
            break;
        }
        let Some(key) = h.mask else {
            bail!("a client frame without a mask");
        };
        unmask(&mut buf[start + h.header_len..end], key);
        if h.opcode == 0x8 {
            let mut close = [0u8; 2];
            write_header(&mut close, 0x8, 0, None);
            unsent.extend_from_slice(&close);
            // Best effort: the peer is leaving.
            let _ = Pin::new(&mut *tcp).poll_write(cx, &unsent);
            return Ok(Echoed::End);
        }
        // The reply's header is 4 bytes shorter (no mask key): write it right before the
        // payload and send header and payload with one write.
        let reply_start = start + h.header_len - header_len(h.len, false);
        write_header(
            &mut buf[reply_start..start + h.header_len],
            h.opcode,
            h.len,
            None,
        );
        let reply = &buf[reply_start..end];
        if unsent.is_empty() {
            let written = match Pin::new(&mut *tcp).poll_write(cx, reply) {
                Poll::Ready(Ok(w)) => w,
                Poll::Ready(Err(e)) => return Err(e.into()),
                Poll::Pending => 0,
            };
            unsent.extend_from_slice(&reply[written..]);
        } else {
            unsent.extend_from_slice(reply);
        }
        start = end;
    }
    carry.clear();
    carry.extend_from_slice(&buf[start..filled]);
    if carry.is_empty() {
        // A frame larger than a read grew `carry`: an idle connection gives it back.
        *carry = Vec::new();
    }
    Ok(if unsent.is_empty() {
        Echoed::Done
    } else {
        Echoed::Unsent(unsent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_header_round_trips_at_every_length_class() -> Result<()> {
        for len in [0usize, 20, 125, 126, 1024, 0xffff, 0x10000] {
            let n = header_len(len, true);
            let mut head = vec![0u8; n];
            write_header(&mut head, 0x2, len, Some(MASK));
            let h = parse_header(&head)?.context("complete header")?;
            assert_eq!(
                (h.opcode, h.len, h.mask, h.header_len),
                (2, len, Some(MASK), n)
            );
            assert!(parse_header(&head[..n - 1])?.is_none());
        }
        Ok(())
    }

    #[tokio::test]
    async fn read_frame_reads_masked_and_unmasked_frames_and_rejects_oversize() -> Result<()> {
        let payload: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let mut wire = masked_frame(0x2, &payload);
        wire.extend(server_frame(0x1, b"hi"));
        wire.extend(server_frame(0x2, &payload));
        let mut r = wire.as_slice();
        let mut got = Vec::new();
        assert_eq!(read_frame(&mut r, &mut got, 1024).await?, Some(0x2));
        assert_eq!(got, payload);
        assert_eq!(read_frame(&mut r, &mut got, 1024).await?, Some(0x1));
        assert_eq!(got, b"hi");
        assert!(read_frame(&mut r, &mut got, 299).await.is_err());
        assert_eq!(read_frame(&mut &[][..], &mut got, 1024).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn read_head_stops_at_the_blank_line_across_split_writes() -> Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let writer = tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await?;
            // The blank line split across writes, then bytes that are not the head's.
            for part in [&b"GET / HTTP/1.1\r\nA: b\r\n\r"[..], b"\nNEXT"] {
                tcp.write_all(part).await?;
                tcp.flush().await?;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            anyhow::Ok(tcp)
        });
        let (mut tcp, _) = listener.accept().await?;
        let head = read_head(&mut tcp).await?;
        assert_eq!(head, "GET / HTTP/1.1\r\nA: b\r\n\r\n");
        let mut next = [0u8; 4];
        tcp.read_exact(&mut next).await?;
        assert_eq!(&next, b"NEXT");
        drop(writer.await??);
        Ok(())
    }

    #[test]
    fn the_floor_server_echoes_frames_split_and_joined_across_reads() -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await?;
                serve(tcp).await
            });
            let mut tcp = TcpStream::connect(addr).await?;
            client_upgrade(&mut tcp, &addr.to_string()).await?;
            let big: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
            let (first, second) = (masked_frame(0x2, b"first"), masked_frame(0x2, &big));
            // The first frame and half of the second in one write, the rest later: the
            // server carries the incomplete frame over to its next read.
            let mut wire = first.clone();
            wire.extend_from_slice(&second);
            let cut = first.len() + second.len() / 2;
            tcp.write_all(&wire[..cut]).await?;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            tcp.write_all(&wire[cut..]).await?;
            let mut expected = vec![0u8; header_len(5, false)];
            write_header(&mut expected, 0x2, 5, None);
            expected.extend_from_slice(b"first");
            let mut head = vec![0u8; header_len(big.len(), false)];
            write_header(&mut head, 0x2, big.len(), None);
            expected.extend_from_slice(&head);
            expected.extend_from_slice(&big);
            let mut got = vec![0u8; expected.len()];
            // Bounded: a server that lost a frame would otherwise leave the test waiting.
            tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read_exact(&mut got))
                .await
                .context("the echoes did not all come back")??;
            assert!(got == expected, "the echoes differ from the frames sent");
            drop(tcp);
            server.await??;
            Ok(())
        })
    }

    #[test]
    fn unmask_is_its_own_inverse_at_odd_lengths() {
        let original: Vec<u8> = (0..37u8).collect();
        let mut buf = original.clone();
        unmask(&mut buf, MASK);
        for (i, (m, o)) in buf.iter().zip(&original).enumerate() {
            assert_eq!(*m, o ^ MASK[i % 4]);
        }
        unmask(&mut buf, MASK);
        assert_eq!(buf, original);
    }
}
