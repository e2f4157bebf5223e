//! The send path: messages in, framed (and, as a client, masked) bytes out.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::output::ZERO_COPY_MIN;
use super::{Initiator, Outgoing, Session};
use crate::close::{CloseCode, CloseFrame};
use crate::error::SendError;
use crate::fast::text::Utf8Bytes;
use crate::frame::{FrameHeader, OpCode, Rsv, encode_frame};
use crate::message::{DataKind, Message};
use crate::stats;

/// A control frame's payload is at most 125 bytes (§5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;

impl Session {
    /// Queues any message at `now`: data, ping, pong or close (which starts the close
    /// timer at `now`).
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), SendError> {
        self.tick(now);
        match message {
            Message::Text(text) => self.send_text_bytes(text),
            Message::Binary(data) => self.send_binary_bytes(data),
            Message::Ping(data) => self.send_ping(&data),
            Message::Pong(data) => self.send_pong(&data),
            Message::Close(None) => self.close_without_status(now),
            Message::Close(Some(frame)) => self.close(now, frame.code, &frame.reason),
        }
    }

    /// Queues a text message (split into frames of at most
    /// [`max_send_frame_size`](crate::Config::max_send_frame_size)).
    ///
    /// Data sends take no time: for the [idle timeout](crate::Config::idle_timeout) a sent
    /// message counts from the next call that passes `now`.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(DataKind::Text, text.as_bytes(), None)
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(DataKind::Binary, data, None)
    }

    /// Queues a text message held in a shared buffer, like
    /// [`send_binary_bytes`](Self::send_binary_bytes) does a binary one.
    pub fn send_text_bytes(&mut self, text: Utf8Bytes) -> Result<(), SendError> {
        let bytes = text.into_bytes();
        self.send_data(DataKind::Text, &bytes, Some(&bytes))
    }

    /// Queues a binary message held in a shared buffer. As a server (frames unmasked), a
    /// frame's payload of at least [`ZERO_COPY_MIN`] bytes that no extension transforms is
    /// queued by reference to `data` instead of being copied: the output then holds several
    /// chunks (see [`pending_output`](Self::pending_output)). A client masks a copy, as
    /// [`send_binary`](Self::send_binary) does.
    pub fn send_binary_bytes(&mut self, data: Bytes) -> Result<(), SendError> {
        self.send_data(DataKind::Binary, &data, Some(&data))
    }

    /// Queues a ping (payload of at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues a pong (payload of at most 125 bytes), e.g. an unsolicited heartbeat.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake (RFC 6455 §5.5.1, §7.1.2) with a status code and a reason
    /// of at most 123 bytes; the [close timer](crate::Config::close_timeout) starts at `now`.
    /// Nothing can be sent afterwards.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > CloseFrame::MAX_REASON_LEN {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        self.check_open()?;
        self.start_close(now, Some(&CloseFrame::new(code, reason)));
        Ok(())
    }

    /// Starts the close handshake with an empty close frame (no status code); the close
    /// timer starts at `now`.
    pub fn close_without_status(&mut self, now: Instant) -> Result<(), SendError> {
        self.check_open()?;
        self.start_close(now, None);
        Ok(())
    }

    /// Queues one piece of a data message that the caller fragments: the first call starts
    /// a message of `kind`, later calls continue it (with the same `kind`), and `fin` ends it.
    /// Control frames may be sent in between; whole data messages may not.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let (opcode, rsv, transformed) = match self.outgoing {
            Some(outgoing) if outgoing.kind != kind => return Err(SendError::FragmentKindMismatch),
            Some(outgoing) => (OpCode::Continuation, Rsv::NONE, outgoing.transformed),
            None => {
                let rsv = self.encode_start(kind.opcode(), None);
                (kind.opcode(), rsv, !rsv.is_empty())
            }
        };
        if transformed {
            let encoded = self.encode_with_extension(payload, fin)?;
            self.write_frame(fin, rsv, opcode, &encoded, None);
            self.recycle_scratch(encoded);
        } else {
            self.write_frame(fin, rsv, opcode, payload, None);
        }
        stats::add(&mut self.stats.payload_bytes_out, payload.len());
        self.stats.messages_out += u64::from(fin);
        self.outgoing = if fin {
            None
        } else {
            Some(Outgoing { kind, transformed })
        };
        self.sent_data = true;
        Ok(())
    }

    /// `owner`, when given, holds exactly `payload` (see [`write_frame`](Self::write_frame)).
    fn send_data(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        owner: Option<&Bytes>,
    ) -> Result<(), SendError> {
        self.check_open()?;
        if self.outgoing.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        let rsv = self.encode_start(kind.opcode(), Some(payload.len()));
        if rsv.is_empty() {
            self.write_message(kind.opcode(), Rsv::NONE, payload, owner);
        } else {
            let encoded = self.encode_with_extension(payload, true)?;
            self.write_message(kind.opcode(), rsv, &encoded, None);
            self.recycle_scratch(encoded);
        }
        stats::add(&mut self.stats.payload_bytes_out, payload.len());
        self.stats.messages_out += 1;
        // Stored last: earlier, this store slowed small sends by a fifth (inlining).
        self.sent_data = true;
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        self.check_open()?;
        self.write_frame(true, Rsv::NONE, opcode, payload, None);
        match opcode {
            OpCode::Ping => self.stats.pings_out += 1,
            _ => self.stats.pongs_out += 1,
        }
        Ok(())
    }

    /// Nothing may be sent after a close frame (§5.5.1), nor once the connection is
    /// closed without one (§7.1.4): the peer ended the transport
    /// ([`receive_eof`](Self::receive_eof)), or a keep-alive timeout failed it.
    fn check_open(&self) -> Result<(), SendError> {
        match (self.close_sent, self.initiator) {
            (false, _) if !self.closed => Ok(()),
            (false, _) if self.failed => Err(SendError::AlreadyClosed),
            (false, _) | (true, Some(Initiator::Peer)) => Err(SendError::ClosedByPeer),
            (true, _) => Err(SendError::AlreadyClosed),
        }
    }

    fn start_close(&mut self, now: Instant, frame: Option<&CloseFrame>) {
        tracing::debug!(role = ?self.role, close = ?frame, "sending close");
        self.tick(now);
        self.initiator = Some(Initiator::Local);
        self.write_close(frame);
        self.close_started(Some(now));
    }

    /// Queues a close frame and records that it was sent. A pong kept aside goes first:
    /// nothing may follow the close frame (§5.5.1).
    pub(super) fn write_close(&mut self, frame: Option<&CloseFrame>) {
        if let Some(pong) = self.pending_pong.take() {
            self.write_pong(&pong);
        }
        let mut payload = BytesMut::new();
        if let Some(frame) = frame {
            frame.encode(&mut payload);
        }
        self.stats.close_code_out = Some(frame.map_or(CloseCode::NO_STATUS, |f| f.code));
        self.write_frame(true, Rsv::NONE, OpCode::Close, &payload, None);
        self.close_sent = true;
    }

    fn encode_start(&mut self, opcode: OpCode, size_hint: Option<usize>) -> Rsv {
        match self.extension.as_mut() {
            Some(ext) => ext.encode_start(opcode, size_hint),
            None => Rsv::NONE,
        }
    }

    /// Runs the payload through the extension into the reusable scratch buffer.
    fn encode_with_extension(&mut self, payload: &[u8], fin: bool) -> Result<BytesMut, SendError> {
        let mut encoded = std::mem::take(&mut self.scratch);
        encoded.clear();
        if let Some(ext) = self.extension.as_mut() {
            ext.encode(payload, fin, &mut encoded)
                .map_err(SendError::Extension)?;
        }
        stats::add(&mut self.stats.compression_out.uncompressed, payload.len());
        stats::add(&mut self.stats.compression_out.compressed, encoded.len());
        Ok(encoded)
    }

    fn recycle_scratch(&mut self, mut scratch: BytesMut) {
        scratch.clear();
        self.scratch = scratch;
    }

    /// Writes a whole message as one frame, or as several of at most
    /// `max_send_frame_size` bytes.
    fn write_message(&mut self, opcode: OpCode, rsv: Rsv, payload: &[u8], owner: Option<&Bytes>) {
        let chunk = self.config.max_send_frame_size.max(1);
        if payload.len() <= chunk {
            self.write_frame(true, rsv, opcode, payload, owner);
            return;
        }
        let mut pieces = payload.chunks(chunk).peekable();
        let (mut opcode, mut rsv) = (opcode, rsv);
        while let Some(piece) = pieces.next() {
            self.write_frame(pieces.peek().is_none(), rsv, opcode, piece, owner);
            (opcode, rsv) = (OpCode::Continuation, Rsv::NONE);
        }
    }

    /// Writes one frame, masked with a fresh key when we are the client (§5.3).
    ///
    /// `owner`, when given, is a shared buffer that holds `payload` (a slice of it): an
    /// unmasked payload of at least [`ZERO_COPY_MIN`] bytes is then queued as a reference
    /// to it rather than copied. A masked payload is always copied (the mask applies to
    /// the copy, never to the caller's bytes).
    pub(super) fn write_frame(
        &mut self,
        fin: bool,
        rsv: Rsv,
        opcode: OpCode,
        payload: &[u8],
        owner: Option<&Bytes>,
    ) {
        // A client masks every frame with a fresh key; a server never masks.
        let mask = self.masks.next_key();
        match (mask, owner) {
            (None, Some(owner)) if payload.len() >= ZERO_COPY_MIN => {
                let header = FrameHeader {
                    fin,
                    rsv,
                    opcode,
                    mask: None,
                    payload_len: payload.len() as u64,
                };
                let (head, used) = header.to_bytes();
                self.out
                    .buf_mut()
                    .extend_from_slice(head.get(..used).unwrap_or_default());
                // The whole message in one frame (the common case): the owner itself,
                // without `slice_ref`'s checks and offset arithmetic.
                let shared = if payload.len() == owner.len() && payload.as_ptr() == owner.as_ptr() {
                    owner.clone()
                } else {
                    owner.slice_ref(payload)
                };
                self.out.push_shared(shared);
            }
            _ => encode_frame(self.out.buf_mut(), fin, rsv, opcode, mask, payload),
        }
        self.stats.frames_out += 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::frame::{FrameHeader, OpCode, Rsv};
    use crate::message::DataKind;
    use crate::{Config, Role, Session};
    use bytes::BytesMut;

    /// A server's frames (short ones through `encode_frame`'s own path) are the bytes of
    /// the general header encoding and the payload, around the 7-bit length's edge (125,
    /// 126) and for every opcode and FIN the short path sees.
    #[test]
    fn server_frames_match_the_general_header_encoding() {
        for len in [0, 1, 20, 124, 125, 126, 127, 1000] {
            let payload = vec![0xA5; len];
            let mut server = Session::new(Role::Server, Config::default());
            server.send_binary(&payload).unwrap();
            server
                .send_fragment(DataKind::Text, &payload, false)
                .unwrap();
            server
                .send_fragment(DataKind::Text, &payload, true)
                .unwrap();
            let mut frames = vec![
                (true, OpCode::Binary),
                (false, OpCode::Text),
                (true, OpCode::Continuation),
            ];
            if len <= 125 {
                server.send_ping(&payload).unwrap();
                frames.push((true, OpCode::Ping));
            }
            let mut expected = BytesMut::new();
            for (fin, opcode) in frames {
                let header = FrameHeader {
                    fin,
                    rsv: Rsv::NONE,
                    opcode,
                    mask: None,
                    payload_len: len as u64,
                };
                header.encode(&mut expected);
                expected.extend_from_slice(&payload);
            }
            assert_eq!(server.pending_output(), &expected[..], "length {len}");
        }
    }
}
