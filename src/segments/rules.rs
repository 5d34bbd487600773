//! The parsed conditions of every dynamic and dynamic plus segment, as the
//! evaluator caches them.

use std::sync::Arc;

use super::condition::{self, Condition};
use super::reads::Needs;
use super::Segment;
use crate::store::{FieldDefinition, Store, StoreError};

/// One segment with its parsed condition.
#[derive(Clone, Debug)]
pub struct Rule {
    pub segment: Segment,
    pub condition: Condition,
}

/// The rules of all segments with a condition, and what their views need.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub needs: Needs,
    /// True when a rule's result can change with time alone.
    pub time_dependent: bool,
}

impl Rules {
    /// Reads the segment definitions and custom field definitions and
    /// parses every condition. A condition that no longer parses (it names
    /// a deleted field) is skipped and logged, so its members stay as they
    /// are until the condition is fixed.
    pub async fn load(store: &dyn Store) -> Result<Arc<Rules>, StoreError> {
        let definitions = store.field_definitions().await?;
        let segments = store.segments().await?;
        Ok(Arc::new(Rules::parse(segments, &definitions)))
    }

    pub fn parse(segments: Vec<Segment>, definitions: &[FieldDefinition]) -> Rules {
        let mut rules = Rules::default();
        for segment in segments {
            let Some(value) = segment.condition.as_ref().filter(|_| segment.kind.has_condition()) else {
                continue;
            };
            match condition::parse(value, definitions) {
                Ok(condition) => {
                    rules.needs.include(&condition);
                    rules.time_dependent |= condition.depends_on_time();
                    rules.rules.push(Rule { condition, segment });
                }
                Err(error) => {
                    tracing::warn!(segment.id = %segment.id, %error, "segment condition no longer parses; members kept");
                }
            }
        }
        rules
    }

    /// Returns the rules of one segment, with its needs.
    pub fn only(rule: Rule) -> Rules {
        let mut needs = Needs::default();
        needs.include(&rule.condition);
        let time_dependent = rule.condition.depends_on_time();
        Rules { rules: vec![rule], needs, time_dependent }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::segments::SegmentKind;
    use crate::store::{ActivityKind, SegmentId};

    fn segment(kind: SegmentKind, condition: Option<serde_json::Value>) -> Segment {
        Segment {
            id: SegmentId::new(),
            name: format!("{kind} segment"),
            description: String::new(),
            kind,
            condition,
            created_at: 0,
            updated_at: 0,
            created_by: "test".to_owned(),
        }
    }

    #[test]
    fn rules_skip_static_and_unparsable() {
        let segments = vec![
            segment(SegmentKind::Static, None),
            segment(SegmentKind::Dynamic, Some(json!({ "field": "deleted_field", "op": "is_set" }))),
            segment(SegmentKind::Dynamic, Some(json!({ "field": "first_name", "op": "is_set" }))),
        ];

        let rules = Rules::parse(segments, &[]);

        assert_eq!(rules.rules.len(), 1);
        assert!(!rules.time_dependent);
        assert_eq!(rules.needs, Needs::default(), "a field condition needs only the record");
    }

    #[test]
    fn rules_unite_needs_of_conditions() {
        let segments = vec![
            segment(
                SegmentKind::DynamicPlus,
                Some(json!({ "activity": "search", "within": { "days": 3 }, "count": { "at_least": 1 } })),
            ),
            segment(SegmentKind::DynamicPlus, Some(json!({ "basket": "not_empty" }))),
            segment(SegmentKind::Dynamic, Some(json!({ "status": "push_subscribed", "is": true }))),
        ];

        let rules = Rules::parse(segments, &[]);

        assert_eq!(rules.rules.len(), 3);
        assert!(rules.time_dependent);
        assert_eq!(rules.needs.lookback, 3 * 24 * 3600 * 1000);
        assert!(rules.needs.kinds.contains(&ActivityKind::Search));
        assert!(rules.needs.kinds.contains(&ActivityKind::CartUpdate));
        assert!(rules.needs.basket);
        assert!(rules.needs.push);
    }
}
