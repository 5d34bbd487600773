//! The custom fields of a contact's profile: stored values of live
//! definitions, typed, with defaults filling unset fields.
//!
//! Values whose definition was deleted stay in the contact's stored fields
//! but are never shown, because no definition has their id. A default is
//! shown, not stored: changing a definition's default changes what every
//! contact without a value shows.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::custom::{render, stale_reason};
use crate::store::FieldDefinition;

/// A profile's custom fields.
#[derive(Debug, Default)]
pub struct CustomValues {
    /// Field name to typed value, stored or default.
    pub values: BTreeMap<String, Value>,
    /// Field name to the reason its stored value no longer fits.
    pub warnings: BTreeMap<String, &'static str>,
}

/// Builds the custom fields of a contact whose stored profile fields are
/// `fields`.
pub fn collect(definitions: &[FieldDefinition], fields: &BTreeMap<String, String>) -> CustomValues {
    let mut custom = CustomValues::default();
    for definition in definitions {
        let stored = fields.get(&definition.storage_name()).filter(|value| !value.is_empty());
        let Some(stored) = stored.or(definition.default.as_ref()) else {
            continue;
        };

        if let Some(reason) = stale_reason(definition, stored) {
            custom.warnings.insert(definition.name.clone(), reason);
        }
        custom.values.insert(definition.name.clone(), render(definition, stored));
    }
    custom
}
