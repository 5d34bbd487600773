//! Statuses during a merge of an anonymous contact into a registered one.

use std::collections::BTreeMap;

use super::{NEWSLETTER, SMS};
use crate::store::{ContactId, Millis, StatusUpdate, Store, StoreError};

/// Copies the newsletter and SMS subscriptions among `merged` (the merged
/// contact's status entries) to `into` where
/// `into` has none (never subscribed), keeping their consent records. Every
/// other status of `into` wins. Idempotent: a copy applies only while the
/// entry of `into` is absent.
pub async fn fill_subscriptions(
    store: &dyn Store,
    into: ContactId,
    merged: &BTreeMap<String, String>,
    at: Millis,
) -> Result<(), StoreError> {
    for name in [NEWSLETTER, SMS] {
        let Some(value) = merged.get(name) else {
            continue;
        };
        let update = StatusUpdate {
            expected: [(name.to_owned(), None)].into(),
            changes: [(name.to_owned(), Some(value.clone()))].into(),
            activities: Vec::new(),
            at,
        };
        // False when `into` already has the entry, which then wins.
        store.update_statuses(into, &update).await?;
    }
    Ok(())
}
