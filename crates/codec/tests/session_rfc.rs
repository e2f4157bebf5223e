#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! The session against RFC 6455, section by section.

mod common;

use std::time::Duration;

use common::*;
use wintergreen_codec::{
    CloseCode, Config, ConnectionError, DataKind, Event, Fragment, Message, OpCode, ProtocolError,
    Role, Rsv, SendError, Session, State, TimerKind,
};

// §5.1: masking follows the role.

#[test]
fn server_fails_on_unmasked_client_frame() {
    let mut server = session(Role::Server);
    server.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Text, b"hi"),
    );
    let err = assert_fails_with(&mut server, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::UnmaskedFrameFromClient)
    );
}

#[test]
fn client_fails_on_masked_server_frame() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Text, b"hi"),
    );
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::MaskedFrameFromServer)
    );
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut client = session(Role::Client);
    client.send_text("same").unwrap();
    client.send_text("same").unwrap();
    let out = client.take_output();
    // Two 4-byte payload frames: header 2 + key 4 + payload 4.
    assert_eq!(out.len(), 20);
    assert_eq!(out[1] & 0x80, 0x80, "mask bit set");
    assert_ne!(&out[2..6], &out[12..16], "keys differ between frames");
    let mut server = session(Role::Server);
    server.receive(t0(), &out);
    assert_eq!(
        messages(&mut server),
        vec![Message::text("same"), Message::text("same")]
    );
}

#[test]
fn server_sends_unmasked_frames() {
    let mut server = session(Role::Server);
    server.send_binary(b"abc").unwrap();
    assert_eq!(server.pending_output(), &[0x82, 0x03, b'a', b'b', b'c']);
}

// §5.2: the base framing protocol.

#[test]
fn reserved_opcodes_fail_with_1002() {
    for opcode in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let mut client = session(Role::Client);
        client.receive(t0(), &raw_first_byte(Role::Client, 0x80 | opcode, b""));
        let err = assert_fails_with(&mut client, 1002);
        assert_eq!(
            err,
            ConnectionError::Protocol(ProtocolError::InvalidOpcode(opcode))
        );
    }
}

#[test]
fn rsv_bits_without_an_extension_fail_with_1002() {
    for rsv in [Rsv::RSV1, Rsv::RSV2, Rsv::RSV3] {
        let mut server = session(Role::Server);
        server.receive(
            t0(),
            &raw_frame(Role::Server, true, rsv, OpCode::Text, b"x"),
        );
        assert_fails_with(&mut server, 1002);
    }
}

#[test]
fn length_with_msb_set_fails_with_1002() {
    let mut client = session(Role::Client);
    let mut frame = vec![0x82, 127];
    frame.extend_from_slice(&(1u64 << 63).to_be_bytes());
    client.receive(t0(), &frame);
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::PayloadLengthOverflow)
    );
}

#[test]
fn all_three_length_encodings_round_trip() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 100_000] {
        let payload = vec![0x5a; len];
        let mut client = session(Role::Client);
        let mut server = session(Role::Server);
        client.send_binary(&payload).unwrap();
        pump(&mut client, &mut server);
        assert_eq!(
            messages(&mut server),
            vec![Message::binary(payload.clone())],
            "len {len}"
        );
        server.send_binary(&payload).unwrap();
        pump(&mut server, &mut client);
        assert_eq!(
            messages(&mut client),
            vec![Message::binary(payload)],
            "len {len}"
        );
    }
}

#[test]
fn payload_is_handed_out_without_a_copy() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Binary, b"zero-copy"),
    );
    let start = client.receive_buffer().as_ptr() as usize;
    let Some(Ok(Event::Message(Message::Binary(data)))) = client.poll_event() else {
        panic!("expected a binary message");
    };
    assert_eq!(
        data.as_ptr() as usize,
        start + 2,
        "payload points into the receive buffer"
    );
}

// §5.4: fragmentation.

#[test]
fn fragments_assemble_with_control_frames_interleaved() {
    let mut client = session(Role::Client);
    let mut bytes = raw_frame(Role::Client, false, Rsv::NONE, OpCode::Text, b"Hel");
    bytes.extend(raw_frame(Role::Client, true, Rsv::NONE, OpCode::Ping, b"p"));
    bytes.extend(raw_frame(
        Role::Client,
        false,
        Rsv::NONE,
        OpCode::Continuation,
        b"lo, ",
    ));
    bytes.extend(raw_frame(Role::Client, true, Rsv::NONE, OpCode::Pong, b"q"));
    bytes.extend(raw_frame(
        Role::Client,
        true,
        Rsv::NONE,
        OpCode::Continuation,
        b"world",
    ));
    client.receive(t0(), &bytes);
    assert_eq!(
        messages(&mut client),
        vec![
            Message::ping(&b"p"[..]),
            Message::pong(&b"q"[..]),
            Message::text("Hello, world")
        ]
    );
    assert_frame_sent(&mut client, OpCode::Pong, b"p");
}

#[test]
fn continuation_without_a_message_fails_with_1002() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Continuation, b"x"),
    );
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::UnexpectedContinuation)
    );
}

#[test]
fn new_data_frame_inside_a_fragmented_message_fails_with_1002() {
    let mut client = session(Role::Client);
    let mut bytes = raw_frame(Role::Client, false, Rsv::NONE, OpCode::Text, b"a");
    bytes.extend(raw_frame(
        Role::Client,
        true,
        Rsv::NONE,
        OpCode::Binary,
        b"b",
    ));
    client.receive(t0(), &bytes);
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::ExpectedContinuation)
    );
}

#[test]
fn streaming_mode_yields_fragments_as_they_arrive() {
    let mut config = Config::default();
    config.streaming = true;
    let mut client = Session::new(Role::Client, config);
    client.receive(
        t0(),
        &raw_frame(Role::Client, false, Rsv::NONE, OpCode::Binary, b"ab"),
    );
    assert_eq!(
        client.poll_event(),
        Some(Ok(Event::Fragment(Fragment {
            kind: DataKind::Binary,
            data: "ab".into(),
            first: true,
            fin: false
        })))
    );
    assert_eq!(client.poll_event(), None);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Continuation, b"c"),
    );
    assert_eq!(
        client.poll_event(),
        Some(Ok(Event::Fragment(Fragment {
            kind: DataKind::Binary,
            data: "c".into(),
            first: false,
            fin: true
        })))
    );
}

#[test]
fn sends_fragments_of_max_send_frame_size() {
    let mut config = Config::default();
    config.max_send_frame_size = 4;
    let mut server = Session::new(Role::Server, config);
    server.send_text("0123456789").unwrap();
    let frames = sent_frames(&mut server);
    let shape: Vec<_> = frames.iter().map(|f| (f.0, f.1, f.3.len())).collect();
    assert_eq!(
        shape,
        vec![
            (OpCode::Text, false, 4),
            (OpCode::Continuation, false, 4),
            (OpCode::Continuation, true, 2)
        ]
    );
}

#[test]
fn caller_driven_fragments_allow_control_frames_between() {
    let mut client = session(Role::Client);
    client.send_fragment(DataKind::Text, b"ab", false).unwrap();
    client.send_ping(b"!").unwrap();
    assert_eq!(
        client.send_text("x"),
        Err(SendError::FragmentedMessageInProgress)
    );
    assert_eq!(
        client.send_fragment(DataKind::Binary, b"?", true),
        Err(SendError::FragmentKindMismatch)
    );
    client.send_fragment(DataKind::Text, b"cd", true).unwrap();
    let mut server = session(Role::Server);
    pump(&mut client, &mut server);
    assert_eq!(
        messages(&mut server),
        vec![Message::ping(&b"!"[..]), Message::text("abcd")]
    );
}

// §5.5: control frames.

#[test]
fn control_frame_over_125_bytes_fails_with_1002() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Ping, &[0; 126]),
    );
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::ControlFrameTooLong(126))
    );
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, false, Rsv::NONE, OpCode::Ping, b"x"),
    );
    let err = assert_fails_with(&mut client, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::FragmentedControlFrame)
    );
}

#[test]
fn ping_is_answered_with_a_pong_carrying_its_payload() {
    let mut server = session(Role::Server);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Ping, b"payload"),
    );
    assert_eq!(messages(&mut server), vec![Message::ping(&b"payload"[..])]);
    assert_frame_sent(&mut server, OpCode::Pong, b"payload");
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut config = Config::default();
    config.auto_pong = false;
    let mut server = Session::new(Role::Server, config);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Ping, b"p"),
    );
    assert_eq!(messages(&mut server), vec![Message::ping(&b"p"[..])]);
    assert!(!server.has_pending_output());
}

#[test]
fn oversized_control_payloads_are_refused_on_send() {
    let mut client = session(Role::Client);
    assert_eq!(
        client.send_ping(&[0; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
    assert_eq!(
        client.send_pong(&[0; 200]),
        Err(SendError::ControlPayloadTooLong(200))
    );
    assert!(!client.has_pending_output());
}

// §5.5.1 and §7.4: close frames and codes.

#[test]
fn close_is_echoed_with_the_same_code() {
    let mut server = session(Role::Server);
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Close, &payload),
    );
    assert_eq!(
        messages(&mut server),
        vec![Message::close(CloseCode::NORMAL, "bye")]
    );
    assert_frame_sent(&mut server, OpCode::Close, &1000u16.to_be_bytes());
    assert!(
        server.should_end_write(),
        "a server closes the transport first"
    );
}

#[test]
fn empty_close_is_echoed_empty() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Close, b""),
    );
    assert_eq!(messages(&mut client), vec![Message::Close(None)]);
    assert_frame_sent(&mut client, OpCode::Close, b"");
    assert_eq!(
        client.state(),
        State::Closing,
        "a client waits for the server to close TCP"
    );
}

#[test]
fn one_byte_close_payload_fails_with_1002() {
    let mut server = session(Role::Server);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Close, &[0x03]),
    );
    let err = assert_fails_with(&mut server, 1002);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::InvalidClosePayload)
    );
}

#[test]
fn invalid_close_codes_fail_with_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut server = session(Role::Server);
        server.receive(
            t0(),
            &raw_frame(
                Role::Server,
                true,
                Rsv::NONE,
                OpCode::Close,
                &code.to_be_bytes(),
            ),
        );
        let err = assert_fails_with(&mut server, 1002);
        assert_eq!(
            err,
            ConnectionError::Protocol(ProtocolError::InvalidCloseCode(code))
        );
    }
}

#[test]
fn valid_close_codes_are_accepted() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut server = session(Role::Server);
        server.receive(
            t0(),
            &raw_frame(
                Role::Server,
                true,
                Rsv::NONE,
                OpCode::Close,
                &code.to_be_bytes(),
            ),
        );
        assert_eq!(
            messages(&mut server),
            vec![Message::close(CloseCode::new(code), "")]
        );
        assert_frame_sent(&mut server, OpCode::Close, &code.to_be_bytes());
    }
}

#[test]
fn close_reason_that_is_not_utf8_fails_with_1007() {
    let mut server = session(Role::Server);
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0, 0x80]);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Close, &payload),
    );
    let err = assert_fails_with(&mut server, 1007);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::InvalidCloseReason)
    );
}

#[test]
fn reserved_close_codes_are_never_sent() {
    let mut client = session(Role::Client);
    for code in [1004u16, 1005, 1006, 1015, 999, 2000, 5000] {
        assert_eq!(
            client.close(t0(), CloseCode::new(code), ""),
            Err(SendError::InvalidCloseCode(code))
        );
    }
    assert_eq!(
        client.close(t0(), CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::CloseReasonTooLong(124))
    );
    assert!(!client.has_pending_output());
    client
        .close(t0(), CloseCode::NORMAL, &"x".repeat(123))
        .unwrap();
}

#[test]
fn nothing_is_sent_after_our_close_used_after_close() {
    let mut client = session(Role::Client);
    client.close(t0(), CloseCode::NORMAL, "done").unwrap();
    client.take_output();
    assert_eq!(client.send_text("late"), Err(SendError::AlreadyClosed));
    assert_eq!(client.send_ping(b""), Err(SendError::AlreadyClosed));
    assert_eq!(
        client.close(t0(), CloseCode::NORMAL, ""),
        Err(SendError::AlreadyClosed)
    );
    assert!(!client.has_pending_output());
}

#[test]
fn sending_after_the_peer_closed_is_closed_by_peer() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(
            Role::Client,
            true,
            Rsv::NONE,
            OpCode::Close,
            &1001u16.to_be_bytes(),
        ),
    );
    messages(&mut client);
    client.take_output();
    assert_eq!(client.send_text("late"), Err(SendError::ClosedByPeer));
    assert!(!client.has_pending_output());
}

#[test]
fn rfc6455_7_1_4_nothing_is_queued_once_the_peer_ended_the_transport() {
    let mut client = session(Role::Client);
    client.receive_eof();
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.send_text("late"), Err(SendError::ClosedByPeer));
    assert_eq!(client.send_ping(b""), Err(SendError::ClosedByPeer));
    assert_eq!(
        client.close(t0(), CloseCode::NORMAL, ""),
        Err(SendError::ClosedByPeer)
    );
    assert!(!client.has_pending_output());
}

#[test]
fn no_pong_after_close_was_sent() {
    let mut server = session(Role::Server);
    server.close(t0(), CloseCode::NORMAL, "").unwrap();
    server.take_output();
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Ping, b"p"),
    );
    assert_eq!(messages(&mut server), vec![Message::ping(&b"p"[..])]);
    assert!(!server.has_pending_output());
}

// §7: the closing handshake, with a fake clock.

#[test]
fn client_close_handshake_ends_when_server_closes_tcp() {
    let mut client = session(Role::Client);
    let mut server = session(Role::Server);
    client.close(t0(), CloseCode::NORMAL, "bye").unwrap();
    pump(&mut client, &mut server);
    assert_eq!(
        messages(&mut server),
        vec![Message::close(CloseCode::NORMAL, "bye")]
    );
    assert!(server.should_end_write(), "the server ends its half first");
    pump(&mut server, &mut client);
    assert_eq!(
        messages(&mut client),
        vec![Message::close(CloseCode::NORMAL, "")]
    );
    assert_eq!(client.state(), State::Closing);
    assert!(!client.should_end_write(), "a client waits for the server");
    client.receive_eof();
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.poll_event(), None, "a clean end is not an error");
    // The client's end reaches the server, which has lingered until then.
    assert_eq!(server.state(), State::Closing);
    server.receive_eof();
    assert!(server.is_closed());
    assert!(!server.should_end_write());
    assert_eq!(server.poll_event(), None, "a clean end is not an error");
}

/// §7.1.1: a server ends its half of the TCP connection first, then reads on (dropping
/// what arrives) until the client's end, so that no TCP reset makes the client lose the
/// server's last bytes; the close timer bounds that wait.
#[test]
fn server_lingers_after_the_close_handshake_until_the_timeout() {
    let mut server = session(Role::Server);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Close, b""),
    );
    assert_eq!(messages(&mut server), vec![Message::Close(None)]);
    assert_frame_sent(&mut server, OpCode::Close, b"");
    assert!(server.should_end_write());
    assert!(
        server.wants_read(),
        "reading goes on while the server lingers"
    );
    // What the client still sends is dropped unread.
    let later = t0() + Duration::from_secs(1);
    server.receive(
        later,
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Text, b"late"),
    );
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.buffered_input(), 0);
    let deadline = server
        .poll_timeout()
        .expect("the close timer bounds the linger");
    assert_eq!(deadline, t0() + Config::DEFAULT_CLOSE_TIMEOUT);
    server.handle_timeout(deadline);
    assert!(server.is_closed());
    assert!(!server.should_end_write());
    assert_eq!(
        server.poll_event(),
        None,
        "the handshake completed: no error"
    );
}

/// §7.1.7 with §7.1.1: a server that fails the connection sends its close frame, ends its
/// half and lingers; the peer's next frames (it may be mid-message) are dropped unread.
#[test]
fn server_lingers_after_failing_the_connection() {
    let mut server = session(Role::Server);
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Text, b"hi"),
    );
    // Opcode 7 is reserved: the connection fails with 1002.
    let mut bad = raw_frame(Role::Server, true, Rsv::NONE, OpCode::Text, b"bad");
    bad[0] = 0x87;
    server.receive(t0(), &bad);
    assert_eq!(
        server.poll_event(),
        Some(Ok(Event::Message(Message::text("hi"))))
    );
    assert!(matches!(
        server.poll_event(),
        Some(Err(ConnectionError::Protocol(_)))
    ));
    assert_frame_sent(&mut server, OpCode::Close, &1002u16.to_be_bytes());
    assert!(server.should_end_write());
    assert!(!server.is_closed());
    server.receive(
        t0(),
        &raw_frame(Role::Server, true, Rsv::NONE, OpCode::Ping, b""),
    );
    assert_eq!(
        server.poll_event(),
        None,
        "nothing is parsed after a failure"
    );
    assert!(!server.has_pending_output(), "no pong after a failure");
    server.receive_eof();
    assert!(server.is_closed());
    assert_eq!(server.poll_event(), None);
}

#[test]
fn client_gives_up_waiting_for_tcp_close_after_the_timeout() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Close, b""),
    );
    messages(&mut client);
    let deadline = client.poll_timeout().expect("timer armed");
    assert_eq!(deadline, t0() + Config::DEFAULT_CLOSE_TIMEOUT);
    client.handle_timeout(t0() + Duration::from_secs(1));
    assert_eq!(client.state(), State::Closing);
    client.handle_timeout(deadline);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(
        client.poll_event(),
        None,
        "the handshake completed: no error"
    );
}

#[test]
fn unanswered_close_times_out_with_an_error() {
    let mut server = session(Role::Server);
    server.close(t0(), CloseCode::GOING_AWAY, "").unwrap();
    let deadline = server.poll_timeout().expect("timer armed");
    assert_eq!(deadline, t0() + Config::DEFAULT_CLOSE_TIMEOUT);
    server.handle_timeout(deadline);
    assert!(server.is_closed());
    assert_eq!(
        server.poll_event(),
        Some(Err(ConnectionError::TimedOut(TimerKind::Close)))
    );
}

#[test]
fn no_timer_while_open() {
    let mut client = session(Role::Client);
    client.handle_timeout(t0());
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn eof_before_the_close_handshake_is_an_abnormal_closure() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, false, Rsv::NONE, OpCode::Text, b"partial"),
    );
    client.receive_eof();
    assert_eq!(
        events(&mut client),
        vec![Err(ConnectionError::AbnormalClosure)]
    );
    assert_eq!(
        ConnectionError::AbnormalClosure.close_code(),
        CloseCode::ABNORMAL
    );
    assert!(client.is_closed());
}

// §8.1: text must be UTF-8, checked as early as possible.

#[test]
fn invalid_utf8_in_one_frame_fails_with_1007() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(
            Role::Client,
            true,
            Rsv::NONE,
            OpCode::Text,
            &[0xce, 0xba, 0xff],
        ),
    );
    let err = assert_fails_with(&mut client, 1007);
    assert_eq!(err, ConnectionError::Protocol(ProtocolError::InvalidUtf8));
}

#[test]
fn invalid_utf8_fails_at_the_fragment_that_breaks_it() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(Role::Client, false, Rsv::NONE, OpCode::Text, b"valid "),
    );
    assert_eq!(client.poll_event(), None);
    // 0xED 0xA0 starts a surrogate: invalid before the message ends.
    client.receive(
        t0(),
        &raw_frame(
            Role::Client,
            false,
            Rsv::NONE,
            OpCode::Continuation,
            &[0xed, 0xa0],
        ),
    );
    assert_fails_with(&mut client, 1007);
}

#[test]
fn invalid_utf8_fails_before_the_rest_of_the_frame_arrives() {
    let mut client = session(Role::Client);
    let frame = raw_frame(Role::Client, true, Rsv::NONE, OpCode::Text, &[b'a'; 10]);
    let mut broken = frame.clone();
    broken[2 + 3] = 0xf8; // never valid in UTF-8
    client.receive(t0(), &broken[..2 + 5]);
    assert_fails_with(&mut client, 1007);
}

#[test]
fn code_point_split_across_fragments_is_valid() {
    let mut client = session(Role::Client);
    let euro = "€".as_bytes();
    let mut bytes = raw_frame(Role::Client, false, Rsv::NONE, OpCode::Text, &euro[..1]);
    bytes.extend(raw_frame(
        Role::Client,
        false,
        Rsv::NONE,
        OpCode::Continuation,
        &euro[1..2],
    ));
    bytes.extend(raw_frame(
        Role::Client,
        true,
        Rsv::NONE,
        OpCode::Continuation,
        &euro[2..],
    ));
    client.receive(t0(), &bytes);
    assert_eq!(messages(&mut client), vec![Message::text("€")]);
}

#[test]
fn message_ending_inside_a_code_point_fails_with_1007() {
    let mut client = session(Role::Client);
    client.receive(
        t0(),
        &raw_frame(
            Role::Client,
            true,
            Rsv::NONE,
            OpCode::Text,
            &"€".as_bytes()[..2],
        ),
    );
    assert_fails_with(&mut client, 1007);
}

// Limits.

#[test]
fn frame_over_the_limit_fails_with_1009_before_its_payload_arrives() {
    let mut config = Config::default();
    config.max_frame_size = 1000;
    let mut client = Session::new(Role::Client, config);
    let frame = raw_frame(Role::Client, true, Rsv::NONE, OpCode::Binary, &[0; 1001]);
    client.receive(t0(), &frame[..4]);
    let err = assert_fails_with(&mut client, 1009);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::FrameTooLarge {
            len: 1001,
            limit: 1000
        })
    );
}

#[test]
fn message_over_the_limit_fails_with_1009() {
    let mut config = Config::default();
    config.max_message_size = 10;
    let mut client = Session::new(Role::Client, config);
    let mut bytes = raw_frame(Role::Client, false, Rsv::NONE, OpCode::Binary, &[0; 6]);
    bytes.extend(raw_frame(
        Role::Client,
        true,
        Rsv::NONE,
        OpCode::Continuation,
        &[0; 5],
    ));
    client.receive(t0(), &bytes);
    let err = assert_fails_with(&mut client, 1009);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::MessageTooLarge { limit: 10 })
    );
}

#[test]
fn too_many_fragments_fail_with_1009() {
    let mut config = Config::default();
    config.max_fragments = 3;
    let mut client = Session::new(Role::Client, config);
    let mut bytes = raw_frame(Role::Client, false, Rsv::NONE, OpCode::Binary, b"");
    for _ in 0..3 {
        bytes.extend(raw_frame(
            Role::Client,
            false,
            Rsv::NONE,
            OpCode::Continuation,
            b"",
        ));
    }
    client.receive(t0(), &bytes);
    let err = assert_fails_with(&mut client, 1009);
    assert_eq!(
        err,
        ConnectionError::Protocol(ProtocolError::TooManyFragments { limit: 3 })
    );
}

#[test]
fn input_after_a_failure_is_ignored() {
    let mut client = session(Role::Client);
    client.receive(t0(), &raw_first_byte(Role::Client, 0x83, b""));
    assert_fails_with(&mut client, 1002);
    client.receive(
        t0(),
        &raw_frame(Role::Client, true, Rsv::NONE, OpCode::Text, b"late"),
    );
    assert_eq!(client.poll_event(), None);
    assert_eq!(
        client.buffered_input(),
        0,
        "nothing is buffered after failing"
    );
}
