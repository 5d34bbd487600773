//! Real components for integration tests: a private Redis server, the
//! django-oscar shop of `examples/oscar/`, the `footprint` binary, and
//! Footprint started in process, each on a free loopback port and stopped
//! when dropped; and plugin components built from their crates.
// Each test crate uses only some of the helpers.
#![allow(dead_code)]

pub mod app;
pub mod footprint;
pub mod oscar;
pub mod plugins;
pub mod redis;
pub mod serve;
pub mod stores;
