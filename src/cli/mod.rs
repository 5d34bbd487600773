//! Subcommands of the `footprint` binary that run without a shop or a
//! store (plugin tools, and clients of a running admin API), kept in the
//! library so tests and other tools can call them.

pub mod admin_client;
pub mod export;
pub mod import;
pub mod plugin_new;
pub mod plugin_test;
