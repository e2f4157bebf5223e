#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Several tasks writing to one connection (issue 15, bursts): each sends into a channel and
//! one task drives the writer half with `send_all`, which feeds whatever is queued and
//! flushes only when the channel is empty, so messages sent meanwhile leave together.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{CountingIo, stream};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::duplex;
use tokio::sync::mpsc;
use tokio::time::timeout;
use wintergreen_codec::Role;
use wintergreen_stream::Message;

const LIMIT: Duration = Duration::from_secs(10);
const TASKS: usize = 8;
const PER_TASK: usize = 16;

#[tokio::test]
async fn messages_of_several_tasks_share_writes_through_one_writer_task() {
    let (a, b) = duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let io = CountingIo {
        io: a,
        writes: Arc::clone(&writes),
    };
    let (_reader, mut writer) = stream(io, Role::Client).split();
    let mut server = stream(b, Role::Server);

    let (tx, mut rx) = mpsc::channel::<Message>(TASKS * PER_TASK);
    let producers: Vec<_> = (0..TASKS)
        .map(|t| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    let tag = [u8::try_from(t).unwrap(), u8::try_from(i).unwrap()];
                    tx.send(Message::binary(tag.to_vec())).await.unwrap();
                    // Let the other tasks and the writer run between two messages.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    drop(tx);
    let writing = tokio::spawn(async move {
        let mut queued = futures_util::stream::poll_fn(|cx| rx.poll_recv(cx)).map(Ok);
        writer.send_all(&mut queued).await.unwrap();
    });

    let mut next = [0usize; TASKS];
    for _ in 0..TASKS * PER_TASK {
        let got = timeout(LIMIT, server.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Binary(tag) = got else {
            panic!("unexpected {got:?}")
        };
        let (t, i) = (usize::from(tag[0]), usize::from(tag[1]));
        assert_eq!(i, next[t], "each task's messages arrive in its order");
        next[t] += 1;
    }
    for producer in producers {
        producer.await.unwrap();
    }
    timeout(LIMIT, writing).await.unwrap().unwrap();
    let writes = writes.load(Ordering::Relaxed);
    // One write per message would be 128; the tasks take turns, so each write carries what
    // all of them queued since the last one.
    assert!(
        writes * 4 <= TASKS * PER_TASK,
        "{writes} writes for {} messages",
        TASKS * PER_TASK
    );
}
