//! Shared test helpers: a runtime that sleeps and spawns on tokio, with no sockets (the
//! pipes are in memory).
#![allow(dead_code, unreachable_pub)]

use std::time::Instant;

use wintergreen_stream::{BoxFuture, Runtime, Sleep};

#[derive(Debug)]
pub struct TestRuntime;

impl Runtime for TestRuntime {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
}
