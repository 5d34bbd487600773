//! The Lua scripts that make multi-key changes atomic. Each script touches
//! keys of one hash tag only, so it also runs on Redis Cluster.

use redis::Script;

/// Source of the `touch` script, also sent with EVAL inside pipelines,
/// where the crate does not load a missing script (NOSCRIPT) by itself.
pub(super) const TOUCH: &str = include_str!("touch.lua");

/// Source of the `refresh_listing` script, also sent with EVAL inside
/// pipelines.
pub(super) const REFRESH_LISTING: &str = include_str!("refresh_listing.lua");

/// The scripts, hashed once when the store is built.
#[derive(Debug)]
pub(super) struct Scripts {
    pub bind_tracker: Script,
    pub touch: Script,
    pub set_fields: Script,
    pub record_merge: Script,
    pub release_index: Script,
    pub push_subscription: Script,
    pub refresh_listing: Script,
    pub list_shard: Script,
    pub forget_tracker: Script,
    pub update_statuses: Script,
    pub create_definition: Script,
    pub replace_definition: Script,
    pub delete_definition: Script,
    pub create_segment: Script,
    pub replace_segment: Script,
    pub delete_segment: Script,
    pub segment_membership: Script,
    pub save_transfer: Script,
}

impl Scripts {
    pub fn new() -> Scripts {
        Scripts {
            bind_tracker: Script::new(include_str!("bind_tracker.lua")),
            touch: Script::new(TOUCH),
            set_fields: Script::new(include_str!("set_fields.lua")),
            record_merge: Script::new(include_str!("record_merge.lua")),
            release_index: Script::new(include_str!("release_index.lua")),
            push_subscription: Script::new(include_str!("push_subscription.lua")),
            refresh_listing: Script::new(REFRESH_LISTING),
            list_shard: Script::new(include_str!("list_shard.lua")),
            forget_tracker: Script::new(include_str!("forget_tracker.lua")),
            update_statuses: Script::new(include_str!("update_statuses.lua")),
            create_definition: Script::new(include_str!("create_definition.lua")),
            replace_definition: Script::new(include_str!("replace_definition.lua")),
            delete_definition: Script::new(include_str!("delete_definition.lua")),
            create_segment: Script::new(include_str!("create_segment.lua")),
            replace_segment: Script::new(include_str!("replace_segment.lua")),
            delete_segment: Script::new(include_str!("delete_segment.lua")),
            segment_membership: Script::new(include_str!("segment_membership.lua")),
            save_transfer: Script::new(include_str!("save_transfer.lua")),
        }
    }
}
