//! Field-capture plugins: WebAssembly components that read a submitted
//! form and return contact fields, consent changes and an identity.
//!
//! The interface is the WIT package `footprint:plugin` in `plugins/wit/`.
//! This module holds the host side: the Rust forms of a submission and a
//! capture ([`Submission`], [`Capture`]), the faults a call can end in
//! ([`PluginFault`]), and the runtime that compiles, instantiates, limits
//! and reloads plugins.

mod capture;
mod fault;
mod submission;

pub use capture::{Capture, Channel, Consent, FieldValue, Identity};
pub use fault::PluginFault;
pub use submission::{Field, Submission};

/// The version of the WIT package this host implements.
pub const INTERFACE_VERSION: &str = "1.0.0";
