//! Segments: groups of contacts that campaigns target.
pub mod condition;
