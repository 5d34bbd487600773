//! Segments: named groups of contacts that decide who gets which campaign.
//!
//! Three kinds exist ([`SegmentKind`]). Members of a static segment are
//! added and removed by hand. A dynamic segment follows a condition on the
//! contact's fields and statuses, and a dynamic plus segment a condition
//! that also looks at behaviour over time. This module contains the
//! definition ([`Segment`]) and the checks of its members
//! ([`validate`]). The store keeps definitions and memberships (see
//! `crate::store::segments`).
//!
//! NOTE: dynamic memberships are not evaluated yet. A dynamic segment can
//! be defined and listed, but it keeps no members until the condition
//! evaluator is wired in, and the admin API rejects hand-made changes to
//! its members.

pub mod condition;
mod kind;
mod segment;
pub mod validate;

pub use kind::SegmentKind;
pub use segment::{Segment, MAX_SEGMENTS};
