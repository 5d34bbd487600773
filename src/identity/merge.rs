//! Merging an anonymous contact into a registered one.
//!
//! A merge writes its intent first, then takes steps that can each be
//! repeated safely, then removes the intent. A crash at any point leaves
//! the intent behind, and [`Identity::resume_pending_merges`] (run by every
//! writer at start) repeats the steps, so a merge completes exactly once
//! whichever instance finishes it:
//!
//! 1. the survivor gains the merged contact's activity sources and its own
//!    stream (activity keeps its original times and nothing is copied, so
//!    counters combine by construction);
//! 2. fields the survivor lacks are filled from the merged contact, and so
//!    are newsletter and SMS subscriptions it never had; the survivor's
//!    values and statuses win;
//! 3. the merged contact's trackers move to the survivor;
//! 4. the survivor joins the merged contact's static segments (recording
//!    `segment_entered` for each one it was not in), and the merged
//!    contact then leaves all its segments without activities;
//! 5. the merge activity is recorded on the survivor, once;
//! 6. the merged contact points at the survivor, so its id keeps resolving.
//!
//! Dynamic memberships are not carried over: the survivor's own fields and
//! behaviour decide them.

use std::collections::BTreeMap;

use super::Identity;
use crate::store::{now_millis, Activity, ActivityKind, ContactId, MergeIntent, Millis, Source, StoreError};

impl Identity {
    /// Merges `intent.from` into `intent.into`, dating the merge activity
    /// `at` (the time of the login that caused it). Idempotent.
    pub async fn merge(&self, intent: MergeIntent, at: Millis) -> Result<(), StoreError> {
        let MergeIntent { from, into } = intent;
        if from == into {
            return Ok(());
        }
        self.store.begin_merge(intent).await?;

        let mut sources = self.store.sources(from).await?;
        sources.push(Source::Contact(from));
        self.store.add_sources(into, &sources).await?;

        if let Some(record) = self.store.contact(from).await? {
            let fields: BTreeMap<String, String> =
                record.fields.into_iter().filter(|(_, value)| !value.is_empty()).collect();
            if !fields.is_empty() {
                self.store.set_fields(into, &fields, true, at).await?;
            }
            crate::status::fill_subscriptions(self.store.as_ref(), into, &record.statuses, at).await?;
        }

        for tracker in self.store.contact_trackers(from).await? {
            if self.store.tracker_contact(tracker).await? == Some(from) {
                self.store.bind_tracker(tracker, into, Some(from)).await?;
            }
        }

        self.unite_segments(from, into, at).await?;

        let activity = Activity {
            at,
            kind: ActivityKind::Merge,
            url: String::new(),
            referrer: None,
            properties: BTreeMap::from([("merged_contact".to_owned(), from.to_string())]),
        };
        let first_time = self.store.record_merge(into, from, &activity).await?;
        self.store.touch(into, Source::Contact(into), at).await?;
        self.store.set_merged_into(from, into).await?;
        self.store.finish_merge(intent).await?;

        if first_time {
            metrics::counter!("footprint_merges_total").increment(1);
            tracing::info!(contact.id = %into, merged.id = %from, "merged anonymous contact");
        }
        Ok(())
    }

    /// Adds `into` to every static segment of `from`, then removes `from`
    /// from all its segments. The additions come first, so a repeat after
    /// a crash still finds `from`'s memberships.
    async fn unite_segments(&self, from: ContactId, into: ContactId, at: Millis) -> Result<(), StoreError> {
        let memberships = self.store.contact_segments(from).await?;
        if memberships.is_empty() {
            return Ok(());
        }

        for id in memberships {
            // A deleted segment's id may linger in the set; it is skipped.
            if let Some(segment) = self.store.segment(id).await? {
                if segment.is_static() {
                    self.store.add_segment_member(&segment, into, at).await?;
                }
            }
        }
        self.store.leave_all_segments(from).await?;
        Ok(())
    }

    /// Completes every merge whose intent was written but not finished and
    /// returns how many there were.
    pub async fn resume_pending_merges(&self) -> Result<usize, StoreError> {
        let intents = self.store.pending_merges().await?;
        for intent in &intents {
            self.merge(*intent, now_millis()).await?;
        }
        Ok(intents.len())
    }
}
