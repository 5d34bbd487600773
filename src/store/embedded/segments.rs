//! Segment definitions of the embedded store, keyed by id with a name
//! index, like the two Redis hashes.

use std::collections::BTreeMap;

use crate::segments::{Segment, MAX_SEGMENTS};
use crate::store::{SegmentId, SegmentWrite};

#[derive(Debug, Default)]
pub(super) struct SegmentDefinitions {
    by_id: BTreeMap<SegmentId, Segment>,
    ids_by_name: BTreeMap<String, SegmentId>,
}

impl SegmentDefinitions {
    /// Returns every segment, ordered by name.
    pub fn all(&self) -> Vec<Segment> {
        self.ids_by_name.values().filter_map(|id| self.by_id.get(id)).cloned().collect()
    }

    pub fn get(&self, id: SegmentId) -> Option<Segment> {
        self.by_id.get(&id).cloned()
    }

    pub fn create(&mut self, segment: &Segment) -> SegmentWrite {
        if self.ids_by_name.contains_key(&segment.name) {
            return SegmentWrite::NameTaken;
        }
        if self.by_id.len() >= MAX_SEGMENTS {
            return SegmentWrite::Full;
        }
        self.ids_by_name.insert(segment.name.clone(), segment.id);
        self.by_id.insert(segment.id, segment.clone());
        SegmentWrite::Written
    }

    pub fn replace(&mut self, segment: &Segment) -> SegmentWrite {
        let Some(current) = self.by_id.get(&segment.id) else {
            return SegmentWrite::NotFound;
        };
        if self.ids_by_name.get(&segment.name).is_some_and(|owner| *owner != segment.id) {
            return SegmentWrite::NameTaken;
        }
        self.ids_by_name.remove(&current.name);
        self.ids_by_name.insert(segment.name.clone(), segment.id);
        self.by_id.insert(segment.id, segment.clone());
        SegmentWrite::Written
    }

    pub fn delete(&mut self, id: SegmentId) -> Option<Segment> {
        let segment = self.by_id.remove(&id)?;
        self.ids_by_name.remove(&segment.name);
        Some(segment)
    }
}
