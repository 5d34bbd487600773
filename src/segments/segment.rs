//! A segment definition as the store keeps it.

use serde::{Deserialize, Serialize};

use super::SegmentKind;
use crate::store::{Millis, SegmentId};

/// Maximum number of segments per deployment. The definitions live in one
/// small hash, and profiles and the segment list read all of them.
pub const MAX_SEGMENTS: usize = 1000;

/// A segment definition. Its members are stored apart from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable id (UUID v7): memberships refer to it, so a rename moves nothing.
    pub id: SegmentId,
    /// Unique among segments, 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub kind: SegmentKind,
    /// The membership condition of the dynamic kinds; `None` for static.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<serde_json::Value>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The name of the admin token that created the segment.
    pub created_by: String,
}

impl Segment {
    /// Returns true when members are added and removed by hand only.
    pub fn is_static(&self) -> bool {
        self.kind == SegmentKind::Static
    }
}
