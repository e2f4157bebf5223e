#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::indexing_slicing, clippy::panic)]
//! `stats()` on the driver and on its split halves: the session's counters, one copy.

mod common;

use std::time::Duration;

use common::stream;
use futures_util::{SinkExt, StreamExt};
use tokio::io::duplex;
use tokio::time::timeout;
use wintergreen_codec::Role;
use wintergreen_stream::Message;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_stream_and_its_halves_report_the_sessions_counters() {
    let (a, b) = duplex(64 << 10);
    let (mut client, server) = (stream(a, Role::Client), stream(b, Role::Server));
    let (mut reader, mut writer) = server.split();

    client.send(Message::binary(vec![1u8; 200])).await.unwrap();
    let got = timeout(LIMIT, reader.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::binary(vec![1u8; 200]));
    writer.send_message(Message::text("ok")).await.unwrap();
    let got = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, Message::text("ok"));

    let ours = client.stats();
    assert_eq!(ours, client.session().stats());
    assert_eq!((ours.messages_out, ours.messages_in), (1, 1));
    assert_eq!((ours.payload_bytes_out, ours.payload_bytes_in), (200, 2));
    // Both halves see the one session: the server read what the client wrote, and
    // the other way round.
    let theirs = reader.stats();
    assert_eq!(theirs, writer.stats());
    assert_eq!(theirs.wire_bytes_in, ours.wire_bytes_out);
    assert_eq!(theirs.wire_bytes_out, ours.wire_bytes_in);
    assert_eq!((theirs.frames_in, theirs.frames_out), (1, 1));
    assert!(theirs.last_received.is_some());
}
