//! Command-line tools besides serving: work on plugin crates.

pub mod plugin_new;
