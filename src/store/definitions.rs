//! Custom field definitions as the store keeps them.
//!
//! A definition names a field the shop added to contacts, with its type
//! and display label. Contacts store custom values in their profile fields
//! under [`FieldDefinition::storage_name`], which uses the definition's
//! stable id instead of its name. So renaming a definition moves no data,
//! and a value stored for a deleted definition can never show up under a
//! later definition that reuses the name. The store checks no types or
//! options; `crate::custom` does, before anything is written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

/// Maximum number of definitions per deployment. Every profile read loads
/// all definitions, so the set is kept small.
pub const MAX_DEFINITIONS: usize = 500;

/// The prefix of the profile field names that hold custom values.
pub const CUSTOM_FIELD_PREFIX: &str = "cf.";

/// The type of a custom field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Email,
    Phone,
    Integer,
    Decimal,
    Date,
    DateTime,
    Boolean,
    SingleChoice,
    MultipleChoice,
}

impl FieldType {
    /// Every type, in the order error messages list them.
    pub const ALL: [FieldType; 10] = [
        FieldType::Text,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Date,
        FieldType::DateTime,
        FieldType::Boolean,
        FieldType::SingleChoice,
        FieldType::MultipleChoice,
    ];

    /// Returns the snake_case name used in the API and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Date => "date",
            FieldType::DateTime => "date_time",
            FieldType::Boolean => "boolean",
            FieldType::SingleChoice => "single_choice",
            FieldType::MultipleChoice => "multiple_choice",
        }
    }

    /// Returns true for the types whose values come from `options`.
    pub fn has_options(self) -> bool {
        matches!(self, FieldType::SingleChoice | FieldType::MultipleChoice)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FieldType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldType::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = FieldType::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown type; expected one of {}", names.join(", "))
        })
    }
}

/// A custom field definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDefinition {
    /// Stable id: the key of the field's values in every contact.
    pub id: Uuid,
    /// The name clients use in the API; unique among definitions.
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The allowed values of the choice types; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// The value shown for contacts that have none, in stored form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl FieldDefinition {
    /// The profile field name under which contacts store this field's
    /// value: `cf.<id>`, kept in the contact hash as `f:cf.<id>` on Redis.
    pub fn storage_name(&self) -> String {
        format!("{CUSTOM_FIELD_PREFIX}{}", self.id.as_hyphenated())
    }
}

/// The outcome of a definition write that did not fail in the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionWrite {
    Written,
    /// Another definition already has the name.
    NameTaken,
    /// The store already contains [`MAX_DEFINITIONS`] definitions.
    Full,
    /// No definition with that name and id exists.
    NotFound,
}
