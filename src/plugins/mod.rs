//! Field-capture plugins: WebAssembly components that read a submitted
//! form and return contact fields, consent changes and an identity.
//!
//! The interface is the WIT package `footprint:plugin` in `plugins/wit/`.
//! This module holds the host side: the Rust forms of a submission and a
//! capture ([`Submission`], [`Capture`]), the faults a call can end in
//! ([`PluginFault`]), the runtime that compiles, instantiates, limits
//! and reloads plugins, and the applier that checks an accepted capture
//! and writes it to the contact ([`CaptureApplier`]).

mod apply;
mod capture;
mod check;
mod fault;
mod submission;

pub use apply::{count_fault, AcceptedCapture, CaptureApplier};
pub use capture::{Capture, Channel, Consent, FieldValue, Identity};
pub use check::{check_capture, CheckedCapture};
pub use fault::PluginFault;
pub use submission::{Field, Submission};

/// The version of the WIT package this host implements.
pub const INTERFACE_VERSION: &str = "1.0.0";
