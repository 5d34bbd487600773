//! Custom field definitions of the embedded store, keyed by name like the
//! Redis hash.

use std::collections::BTreeMap;

use crate::store::{DefinitionWrite, FieldDefinition, MAX_DEFINITIONS};

#[derive(Debug, Default)]
pub(super) struct Definitions {
    by_name: BTreeMap<String, FieldDefinition>,
}

impl Definitions {
    pub fn all(&self) -> Vec<FieldDefinition> {
        self.by_name.values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<FieldDefinition> {
        self.by_name.get(name).cloned()
    }

    pub fn create(&mut self, definition: &FieldDefinition) -> DefinitionWrite {
        if self.by_name.contains_key(&definition.name) {
            return DefinitionWrite::NameTaken;
        }
        if self.by_name.len() >= MAX_DEFINITIONS {
            return DefinitionWrite::Full;
        }
        self.by_name.insert(definition.name.clone(), definition.clone());
        DefinitionWrite::Written
    }

    pub fn replace(&mut self, name: &str, definition: &FieldDefinition) -> DefinitionWrite {
        if self.by_name.get(name).is_none_or(|current| current.id != definition.id) {
            return DefinitionWrite::NotFound;
        }
        if definition.name != name && self.by_name.contains_key(&definition.name) {
            return DefinitionWrite::NameTaken;
        }
        self.by_name.remove(name);
        self.by_name.insert(definition.name.clone(), definition.clone());
        DefinitionWrite::Written
    }

    pub fn delete(&mut self, name: &str) -> Option<FieldDefinition> {
        self.by_name.remove(name)
    }
}
