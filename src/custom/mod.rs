//! Custom (personalized) contact fields: checking definitions and values.
//!
//! The shop defines fields with a type ([`crate::store::FieldType`]); staff,
//! plugins and imports then set values by field name. Everything here is
//! plain synchronous checking with no I/O, so every writer applies the
//! same rules: [`validate`] turns a JSON value into the text to store, and
//! [`render`] turns stored text back into typed JSON. Definitions
//! themselves are stored through [`crate::store::Store`].

pub mod definition;
pub mod value;

pub use definition::DefinitionError;
pub use value::{render, stale_reason, validate, validate_for, StoredValue, ValueError};
