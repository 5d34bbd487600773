//! Subcommands of the `footprint` binary that run without a shop or a
//! store, kept in the library so tests and other tools can call them.

pub mod plugin_new;
pub mod plugin_test;
