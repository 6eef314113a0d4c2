//! angzarr's storage messages as prost types: the wire format of the extension's
//! `angzarr.append_event_book()` / `angzarr.read_event_book()` and of the client's helpers.
//! Generated from `proto/angzarr/store.proto` (field numbers match the angzarr framework).

#![allow(clippy::doc_lazy_continuation)]

/// The generated `angzarr` package.
pub mod angzarr {
    include!(concat!(env!("OUT_DIR"), "/angzarr.rs"));
}

pub use angzarr::*;
pub use prost;
pub use prost_types;
