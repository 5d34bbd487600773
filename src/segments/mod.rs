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
//! Members of the dynamic kinds are kept current by the [`Evaluator`],
//! which every change to a contact calls, by a [`build`] of all contacts
//! when a condition is set, and by the [`Scheduler`] when time alone
//! changes a membership. The admin API rejects hand-made changes to them.

pub mod build;
pub mod clock;
pub mod condition;
pub mod evaluator;
mod kind;
pub mod reads;
pub mod rules;
pub mod scheduler;
mod segment;
pub mod validate;

pub use clock::{Clock, ManualClock, SystemClock};
pub use evaluator::{Evaluation, Evaluator};
pub use kind::SegmentKind;
pub use scheduler::Scheduler;
pub use segment::{Segment, MAX_SEGMENTS};
