//! Tracking: the tracker cookie, the bot and static-asset filter, and the
//! activity and identify rules that turn proxied requests into events for
//! the recorder.

mod cookie;
mod fields;
mod filter;
mod hooks;
mod pattern;
mod personalisation;
mod plugins;
mod rules;

pub use cookie::TrackerKeys;
pub use fields::{Fields, FormEncoding};
pub use filter::{Filter, Skip};
pub use hooks::{Plan, Tracking};
pub use pattern::PathPattern;
pub use personalisation::Personalisation;
pub use plugins::PluginRoutes;
pub use rules::{ResponseFacts, Rules};
