//! Tracking: the tracker cookie, the bot and static-asset filter, and the
//! activity rules that turn requests into activities.

mod cookie;
mod pattern;

pub use cookie::TrackerKeys;
pub use pattern::PathPattern;
