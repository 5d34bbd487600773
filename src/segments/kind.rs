//! The kinds of segment and how each one gets its members.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The rule that decides a segment's members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Members are added and removed by hand, and never change otherwise.
    Static,
    /// Members are the contacts whose fields and statuses meet the condition.
    Dynamic,
    /// Like `dynamic`, but the condition may also test behaviour over time,
    /// so membership changes as time passes.
    DynamicPlus,
}

impl SegmentKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [SegmentKind; 3] = [SegmentKind::Static, SegmentKind::Dynamic, SegmentKind::DynamicPlus];

    /// Returns the snake_case name used in the API and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Static => "static",
            SegmentKind::Dynamic => "dynamic",
            SegmentKind::DynamicPlus => "dynamic_plus",
        }
    }

    /// Returns true for the kinds whose members follow a condition.
    pub fn has_condition(self) -> bool {
        !matches!(self, SegmentKind::Static)
    }
}

impl fmt::Display for SegmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SegmentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SegmentKind::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = SegmentKind::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown kind; expected one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trips_through_text() {
        for kind in SegmentKind::ALL {
            assert_eq!(kind.as_str().parse::<SegmentKind>(), Ok(kind));
        }
    }

    #[test]
    fn kind_rejects_unknown_name() {
        let error = "Static".parse::<SegmentKind>().expect_err("names are case-sensitive");
        assert!(error.contains("static, dynamic, dynamic_plus"), "{error}");
    }
}
