//! Client integration tests against a real server with the extension. One binary for all of
//! them (each test uses its own aggregates, so they run in parallel); the large-stream test has
//! a binary of its own because it measures the process's peak memory.

#[path = "../common/mod.rs"]
mod common;

mod append;
mod concurrency;
mod contract;
mod feed;
mod install;
mod projection;
mod read;
mod storage;
mod typed;
