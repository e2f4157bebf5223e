//! Hand-made wire bytes for the hostile clients: they must not be polite, so they do not use
//! wintergreen's client (which reads, answers pings and honours backpressure).

use std::net::SocketAddr;

use anyhow::{Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Any fixed mask works: the server only unmasks.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A TCP connection upgraded to WebSocket by a minimal RFC 6455 §4.1 request (no extensions).
pub(crate) async fn upgraded(addr: SocketAddr) -> Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    // Read the response head byte by byte: nothing past it may be consumed (there is none,
    // the server sends nothing unasked, but be exact). Bounded: 8 KiB.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8 << 10 || tcp.read(&mut byte).await? == 0 {
            bail!("no complete response head");
        }
        head.extend_from_slice(&byte);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        bail!("upgrade refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(tcp)
}

/// A masked client frame (RFC 6455 §5.2): FIN set, `opcode`, `payload`.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(
        payload
            .iter()
            .zip(MASK.iter().cycle())
            .map(|(byte, mask)| byte ^ mask),
    );
    out
}

/// `count` pings with the largest control payload, 125 bytes (§5.5).
pub(crate) fn ping_batch(count: usize) -> Vec<u8> {
    let ping = frame(0x9, &[b'p'; 125]);
    ping.repeat(count)
}

/// One binary message of `len` bytes.
pub(crate) fn binary_frame(len: usize) -> Vec<u8> {
    frame(0x2, &vec![0x5a; len])
}
