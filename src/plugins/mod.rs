//! Field-capture plugins: WebAssembly components that read a submitted
//! form and return contact fields, consent changes and an identity.
//!
//! The interface is the WIT package `footprint:plugin` in `plugins/wit/`.
//! This module contains the host side: the Rust forms of a submission and a
//! capture ([`Submission`], [`Capture`]), the faults a call can end in
//! ([`PluginFault`]), the runtime that compiles, instantiates, limits
//! and reloads plugins ([`PluginHost`]), and the applier that checks an
//! accepted capture and writes it to the contact ([`CaptureApplier`]).
//!
//! Trade-offs: plugins are compiled once at load (and cached on disk), and
//! each call instantiates a fresh copy from a pre-linked `InstancePre` in a
//! pooled slot, which costs an instantiation per call but means no state
//! crosses submissions. Deadlines use epoch interruption (a counter the generated
//! code checks at loop headers and function entries) rather than fuel,
//! because it is much cheaper; fuel is counted only by [`measure`].

mod apply;
mod bindings;
mod cache;
mod caps;
mod capture;
mod check;
mod engine;
mod error;
mod fault;
mod host;
mod loaded;
mod measure;
mod metrics;
mod reload;
mod sandbox;
mod submission;

pub use apply::{AcceptedCapture, Applied, CaptureApplier};
pub use cache::CacheOutcome;
pub use capture::{Capture, Channel, Consent, FieldValue, Identity};
pub use check::{check_capture, CheckedCapture};
pub use error::{LoadError, PluginError};
pub use fault::PluginFault;
pub use host::{PluginHost, PluginStatus};
pub use measure::{measure, Measured};
pub use submission::{Field, Submission};

/// The version of the WIT package this host implements.
pub const INTERFACE_VERSION: &str = "1.0.0";
