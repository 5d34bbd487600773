//! Decoding of Redis replies into store values.
//!
//! Replies are matched by hand instead of through `FromRedisValue`, so that
//! bad stored data (a foreign key, a hand edit, an older format) becomes
//! [`StoreError::Corrupt`] naming what could not be read, while transport
//! failures stay [`StoreError::Redis`]. Both RESP2 and RESP3 reply shapes are
//! accepted because the connection URL chooses the protocol.

use std::collections::BTreeMap;
use std::str::FromStr;

use redis::Value;

use crate::store::{Activity, ActivityKind, ContactId, ContactRecord, Cursor, Millis, StoreError, StoredActivity};

/// The stream entry field holding the activity as JSON.
pub(super) const ACTIVITY_FIELD: &str = "a";

/// The contact hash field prefix of profile fields.
pub(super) const FIELD_PREFIX: &str = "f:";

/// The contact hash field prefix of status entries.
pub(super) const STATUS_PREFIX: &str = "s:";

pub(super) fn corrupt(what: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what, reason: reason.into() }
}

/// Reads a string reply.
pub(super) fn text(value: Value, what: &'static str) -> Result<String, StoreError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).map_err(|_| corrupt(what, "the value is not valid UTF-8")),
        Value::SimpleString(text) => Ok(text),
        Value::VerbatimString { text, .. } => Ok(text),
        Value::Int(number) => Ok(number.to_string()),
        other => Err(corrupt(what, format!("expected a string, got {other:?}"))),
    }
}

/// Reads an array or set reply.
pub(super) fn list(value: Value, what: &'static str) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(corrupt(what, format!("expected an array, got {other:?}"))),
    }
}

/// Reads a list of strings, such as the members of a set.
pub(super) fn strings(value: Value, what: &'static str) -> Result<Vec<String>, StoreError> {
    list(value, what)?.into_iter().map(|item| text(item, what)).collect()
}

/// Reads a list of strings and parses each one.
pub(super) fn parsed<T: FromStr>(value: Value, what: &'static str) -> Result<Vec<T>, StoreError> {
    strings(value, what)?
        .into_iter()
        .map(|item| item.parse().map_err(|_| corrupt(what, format!("invalid value {item:?}"))))
        .collect()
}

/// Reads a hash as name/value pairs: a flat array in RESP2, a map in RESP3.
pub(super) fn hash(value: Value, what: &'static str) -> Result<Vec<(String, String)>, StoreError> {
    match value {
        Value::Map(pairs) => {
            pairs.into_iter().map(|(name, value)| Ok((text(name, what)?, text(value, what)?))).collect()
        }
        other => {
            let items = list(other, what)?;
            if items.len() % 2 != 0 {
                return Err(corrupt(what, "a hash reply has an odd number of items"));
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(name), Some(value)) = (items.next(), items.next()) {
                pairs.push((text(name, what)?, text(value, what)?));
            }
            Ok(pairs)
        }
    }
}

/// Parses a stream entry id `<milliseconds>-<sequence>`.
pub(super) fn stream_id(id: &str) -> Result<(Millis, u64), StoreError> {
    let invalid = || corrupt("stream id", format!("invalid id {id:?}"));
    let (millis, seq) = id.split_once('-').ok_or_else(invalid)?;
    Ok((millis.parse().map_err(|_| invalid())?, seq.parse().map_err(|_| invalid())?))
}

/// Decodes an XRANGE/XREVRANGE reply of the stream of `source`, keeping
/// the reply's order.
pub(super) fn stream_entries(value: Value, source: &str) -> Result<Vec<StoredActivity>, StoreError> {
    let mut activities = Vec::new();
    for entry in list(value, "stream entry")? {
        let mut parts = list(entry, "stream entry")?.into_iter();
        let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
            return Err(corrupt("stream entry", "an entry lacks its id or fields"));
        };

        let id = text(id, "stream id")?;
        let (stored_at, seq) = stream_id(&id)?;
        let json = hash(fields, "stream entry")?
            .into_iter()
            .find_map(|(name, value)| (name == ACTIVITY_FIELD).then_some(value))
            .ok_or_else(|| corrupt("stream entry", format!("entry {id} has no {ACTIVITY_FIELD:?} field")))?;
        let activity: Activity =
            serde_json::from_str(&json).map_err(|error| corrupt("activity", format!("entry {id}: {error}")))?;

        let cursor = Cursor { stored_at, seq, source: source.to_owned() };
        activities.push(StoredActivity { cursor, activity });
    }
    Ok(activities)
}

/// Adds a counters hash (activity type to count) into `sums`.
pub(super) fn add_counters(value: Value, sums: &mut BTreeMap<ActivityKind, u64>) -> Result<(), StoreError> {
    for (name, count) in hash(value, "counters")? {
        let kind: ActivityKind = name.parse().map_err(|reason: String| corrupt("counters", reason))?;
        let count: u64 =
            count.parse().map_err(|_| corrupt("counters", format!("invalid count {count:?} for {kind}")))?;
        *sums.entry(kind).or_default() += count;
    }
    Ok(())
}

/// Decodes a contact hash; an empty reply means no such contact.
pub(super) fn contact(id: ContactId, value: Value) -> Result<Option<ContactRecord>, StoreError> {
    let pairs = hash(value, "contact")?;
    if pairs.is_empty() {
        return Ok(None);
    }

    let mut record = ContactRecord { id: Some(id), ..Default::default() };
    for (name, value) in pairs {
        let invalid = || corrupt("contact", format!("invalid {name} {value:?} of contact {id}"));
        if let Some(field) = name.strip_prefix(FIELD_PREFIX) {
            record.fields.insert(field.to_owned(), value);
            continue;
        }
        if let Some(status) = name.strip_prefix(STATUS_PREFIX) {
            record.statuses.insert(status.to_owned(), value);
            continue;
        }
        match name.as_str() {
            "created" => record.created_at = value.parse().map_err(|_| invalid())?,
            "updated" => record.updated_at = value.parse().map_err(|_| invalid())?,
            "merged_into" => record.merged_into = Some(value.parse().map_err(|_| invalid())?),
            // Fields written by a newer version are kept out of the record
            // rather than failing every read of the contact.
            _ => {}
        }
    }
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn stream_id_parses_both_parts() {
        assert_eq!(stream_id("1700000000000-3").ok(), Some((1_700_000_000_000, 3)));
        assert!(stream_id("1700000000000").is_err());
        assert!(stream_id("x-1").is_err());
    }

    #[test]
    fn stream_entries_rejects_bad_json() {
        let reply = Value::Array(vec![Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("a"), bulk("{")])])]);

        let error = stream_entries(reply, "c:x").err();
        assert!(matches!(error, Some(StoreError::Corrupt { what: "activity", .. })));
    }

    #[test]
    fn contact_rejects_bad_timestamp() {
        let reply = Value::Array(vec![bulk("created"), bulk("soon")]);

        let error = contact(ContactId::new(), reply).err();
        assert!(matches!(error, Some(StoreError::Corrupt { what: "contact", .. })));
    }

    #[test]
    fn counters_reject_unknown_kind() {
        let reply = Value::Array(vec![bulk("teleport"), bulk("1")]);

        let mut sums = BTreeMap::new();
        assert!(add_counters(reply, &mut sums).is_err());
    }
}
