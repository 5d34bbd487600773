//! The contacts list on Redis: refreshing a contact's entries in its list
//! shard, and reading a page by merging the sixteen shards.
//!
//! A contact's hash and its list shard live in different slots, so a
//! refresh reads the contact first and writes the shard second. A crash in
//! between leaves the shard behind the contact until the next refresh,
//! which recomputes every entry from the contact's current state. Readers
//! check each entry against the contact and skip (and repair) those whose
//! contact is gone, merged or no longer matches the filter.
//!
//! A page reads the next entries after the cursor from every shard (one
//! script per shard walks the smallest requested set and checks the other
//! filters with ZSCORE) and merges them by (score, id) descending. With a
//! segment filter the segment's bucket in each shard is one of the
//! requested sets, and each candidate is also checked against the
//! contact's own segments set. The
//! shards are read concurrently over the one multiplexed connection.
//!
//! NOTE: contacts stored before the list indexes existed are listed only
//! after their next change, because nothing backfills the shards. A
//! combination of filters that few contacts of a large shard meet makes
//! that shard's script walk the whole smallest set in one call.

use futures_util::future::try_join_all;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use super::decode::{self, corrupt, FIELD_PREFIX};
use super::scripts::{Scripts, REFRESH_LISTING};
use crate::store::keys::{list_shard, Keys, ListSet, LIST_SHARDS};
use crate::store::{
    is_listable, ContactFilter, ContactId, ContactListPage, ContactListQuery, ContactRecord, ListPosition,
    ListPositions, Millis, Result, SegmentId, StoreError, CELLPHONE_FIELD, EMAIL_FIELD,
};

/// The contact state that its list entries follow, read in one `MULTI`
/// ([`add_state_reads`]) so that the fields, update time and push count
/// come from the same state of the contact.
pub(super) struct ListingState {
    /// The update time as the refresh script takes it: empty when the
    /// contact is missing or merged, which removes every entry.
    updated: String,
    has_email: bool,
    has_cellphone: bool,
    has_push: bool,
    segments: Vec<SegmentId>,
    /// Whether the change that returned the state created the contact,
    /// so none of its entries can exist yet.
    created: bool,
}

impl ListingState {
    /// Returns the state of a contact just created at `at` with the given
    /// fields, which has no push subscription and no segment yet.
    pub(super) fn of_new_contact(at: Millis, has_email: bool, has_cellphone: bool) -> ListingState {
        ListingState {
            updated: at.to_string(),
            has_email,
            has_cellphone,
            has_push: false,
            segments: Vec::new(),
            created: true,
        }
    }
}

/// Adds the three reads of `contact`'s [`ListingState`] to `pipeline`,
/// which must be atomic and may hold other commands of the contact's slot.
pub(super) fn add_state_reads(pipeline: &mut redis::Pipeline, keys: &Keys, contact: ContactId) {
    pipeline
        .cmd("HMGET")
        .arg(keys.contact(contact))
        .arg("created")
        .arg("updated")
        .arg("merged_into")
        .arg(format!("{FIELD_PREFIX}{EMAIL_FIELD}"))
        .arg(format!("{FIELD_PREFIX}{CELLPHONE_FIELD}"));
    pipeline.hlen(keys.push_subscriptions(contact));
    pipeline.smembers(keys.contact_segments(contact));
}

/// Decodes the reply of the `set_fields` script: the replies of the three
/// reads of [`add_state_reads`], in order, and 1 when the script created
/// the contact.
pub(super) fn decode_script_state(contact: ContactId, reply: Value) -> Result<ListingState> {
    let replies: Vec<Value> = redis::from_redis_value(reply).map_err(::redis::RedisError::from)?;
    let [state, push_count, segments, created] = <[Value; 4]>::try_from(replies)
        .map_err(|_| corrupt("contact", format!("the listing state of contact {contact} has the wrong length")))?;
    let created: i64 = redis::from_redis_value(created).map_err(::redis::RedisError::from)?;

    let mut state = decode_state(contact, [state, push_count, segments])?;
    state.created = created == 1;
    Ok(state)
}

/// Decodes the replies of [`add_state_reads`], in order.
pub(super) fn decode_state(contact: ContactId, replies: [Value; 3]) -> Result<ListingState> {
    let [state, push_count, segments] = replies;
    let state: Vec<Option<String>> = redis::from_redis_value(state).map_err(::redis::RedisError::from)?;
    let push_count: u64 = redis::from_redis_value(push_count).map_err(::redis::RedisError::from)?;
    let segments: Vec<SegmentId> = decode::parsed(segments, "segments set")?;

    let [created, updated, merged_into, email, cellphone] = <[Option<String>; 5]>::try_from(state)
        .map_err(|_| corrupt("contact", format!("HMGET of contact {contact} returned the wrong number of values")))?;
    let listed = created.is_some() && merged_into.is_none();
    let updated = match updated.or(created) {
        Some(updated) if listed => {
            let millis: Millis = updated
                .parse()
                .map_err(|_| corrupt("contact", format!("invalid updated {updated:?} of contact {contact}")))?;
            millis.to_string()
        }
        _ => String::new(),
    };
    let non_empty = |value: &Option<String>| value.as_deref().is_some_and(|value| !value.is_empty());
    Ok(ListingState {
        updated,
        has_email: non_empty(&email),
        has_cellphone: non_empty(&cellphone),
        has_push: push_count > 0,
        segments,
        created: false,
    })
}

/// Returns the keys and arguments of the refresh script for `state`.
fn refresh_invocation(keys: &Keys, contact: ContactId, state: &ListingState) -> (Vec<String>, [String; 5]) {
    let shard = list_shard(contact);
    let mut set_keys: Vec<String> = ListSet::ALL.iter().map(|set| keys.list_set(shard, *set)).collect();
    set_keys.extend(state.segments.iter().map(|segment| keys.segment_bucket(shard, *segment)));
    let flag = |present: bool| if present { "1" } else { "0" }.to_owned();
    let arguments = [
        contact.to_string(),
        state.updated.clone(),
        flag(state.has_email),
        flag(state.has_cellphone),
        flag(state.has_push),
    ];
    (set_keys, arguments)
}

/// Adds the refresh of `contact`'s entries for `state` to `pipeline`, as
/// EVAL with the script's source, because the crate does not load a
/// missing script (NOSCRIPT) inside a pipeline. Every key is in the
/// contact's list shard.
pub(super) fn add_refresh(pipeline: &mut redis::Pipeline, keys: &Keys, contact: ContactId, state: &ListingState) {
    let (set_keys, arguments) = refresh_invocation(keys, contact, state);
    pipeline.cmd("EVAL").arg(REFRESH_LISTING).arg(set_keys.len()).arg(set_keys).arg(arguments.as_slice()).ignore();
}

/// Brings `contact`'s entries in its list shard, segment buckets included,
/// in line with the contact's current state. Idempotent. It does not remove
/// entries of segments the contact's set no longer names; removing a
/// member does that itself.
pub(super) async fn refresh(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    contact: ContactId,
) -> Result<()> {
    let mut pipeline = redis::pipe();
    pipeline.atomic();
    add_state_reads(&mut pipeline, keys, contact);
    let replies: (Value, Value, Value) = pipeline.query_async(connection).await?;
    let state = decode_state(contact, [replies.0, replies.1, replies.2])?;

    write_state(connection, keys, scripts, contact, &state).await
}

/// Brings `contact`'s entries in its list shard in line with `state`,
/// which a script of the contact's slot returned after its change.
///
/// A contact that the change created has no entries to remove or compare,
/// so its entries are added with `ZADD GT` (Redis 6.2) in one pipeline
/// instead of the script. GT keeps a newer score that a concurrent
/// refresh may have written first.
pub(super) async fn write_state(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    contact: ContactId,
    state: &ListingState,
) -> Result<()> {
    if state.created && !state.updated.is_empty() && state.segments.is_empty() {
        let shard = list_shard(contact);
        let flags = [(ListSet::All, true), (ListSet::Email, state.has_email), (ListSet::Phone, state.has_cellphone)];
        let mut pipeline = redis::pipe();
        for (set, present) in flags {
            if present {
                pipeline
                    .cmd("ZADD")
                    .arg(keys.list_set(shard, set))
                    .arg("GT")
                    .arg(&state.updated)
                    .arg(contact.to_string())
                    .ignore();
            }
        }
        pipeline.exec_async(connection).await?;
        return Ok(());
    }

    let (set_keys, arguments) = refresh_invocation(keys, contact, state);
    let _: i64 = scripts.refresh_listing.key(set_keys).arg(arguments.as_slice()).invoke_async(connection).await?;
    Ok(())
}

/// Reads one page of the contacts list (see
/// [`crate::store::Store::list_contacts`]).
pub(super) async fn read_page(
    connection: &mut ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    query: &ContactListQuery,
) -> Result<ContactListPage> {
    let limit = query.limit.max(1);
    let mut position = query.after;
    let mut items = Vec::with_capacity(limit);

    // Each round examines at least one entry and moves `position` past it,
    // so stale entries cost extra rounds but cannot make the loop spin.
    loop {
        let missing = limit - items.len();
        let candidates = next_entries(connection, keys, scripts, query.filter, position, missing + 1).await?;
        let more = candidates.len() > missing;
        let examined = &candidates[..candidates.len().min(missing)];

        let records = load(connection, keys, examined, query.filter.segment).await?;
        for (candidate, loaded) in examined.iter().zip(records) {
            position = Some(*candidate);
            if !loaded.in_segment {
                if let Some(segment) = query.filter.segment {
                    tracing::debug!(contact.id = %candidate.id, segment.id = %segment, "removing a stale segment entry");
                    let bucket = keys.segment_bucket(list_shard(candidate.id), segment);
                    let _: i64 = connection.zrem(bucket, candidate.id.to_string()).await?;
                }
            }
            match loaded.record {
                Some(record)
                    if loaded.in_segment
                        && is_listable(&record)
                        && query.filter.accepts(&record, loaded.push_count) =>
                {
                    items.push(record);
                }
                _ => {
                    tracing::debug!(contact.id = %candidate.id, "repairing a stale contacts-list entry");
                    refresh(connection, keys, scripts, candidate.id).await?;
                }
            }
        }

        if !more {
            return Ok(ContactListPage { items, next: None });
        }
        if items.len() == limit {
            return Ok(ContactListPage { items, next: position });
        }
    }
}

/// Returns up to `count` entries after `after` that are in every set
/// `filter` requests (the segment's bucket among them), merged over all
/// shards, newest first.
/// Reads the positions of one page without loading the contacts (see
/// [`crate::store::Store::list_positions`]).
pub(super) async fn read_positions(
    connection: &ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    query: &ContactListQuery,
) -> Result<ListPositions> {
    let limit = query.limit.max(1);
    let mut positions = next_entries(connection, keys, scripts, query.filter, query.after, limit + 1).await?;
    let more = positions.len() > limit;
    positions.truncate(limit);
    let next = if more { positions.last().copied() } else { None };
    Ok(ListPositions { positions, next })
}

async fn next_entries(
    connection: &ConnectionManager,
    keys: &Keys,
    scripts: &Scripts,
    filter: ContactFilter,
    after: Option<ListPosition>,
    count: usize,
) -> Result<Vec<ListPosition>> {
    let mut sets = Vec::new();
    if filter.has_email {
        sets.push(ListSet::Email);
    }
    if filter.has_cellphone {
        sets.push(ListSet::Phone);
    }
    if filter.has_push {
        sets.push(ListSet::Push);
    }
    if sets.is_empty() && filter.segment.is_none() {
        sets.push(ListSet::All);
    }
    let max = after.map_or_else(|| "+inf".to_owned(), |after| after.updated_at.to_string());
    let after_id = after.map(|after| after.id.to_string()).unwrap_or_default();

    let shards = (0..LIST_SHARDS).filter(|shard| filter.shard.is_none_or(|only| only == *shard));
    let reads = shards.map(|shard| {
        let mut connection = connection.clone();
        let mut set_keys: Vec<String> = sets.iter().map(|set| keys.list_set(shard, *set)).collect();
        set_keys.extend(filter.segment.map(|segment| keys.segment_bucket(shard, segment)));
        let (max, after_id) = (&max, &after_id);
        async move {
            let reply: Value = scripts
                .list_shard
                .key(set_keys)
                .arg(max)
                .arg(after_id)
                .arg(count)
                .invoke_async(&mut connection)
                .await?;
            Ok::<Value, StoreError>(reply)
        }
    });
    let replies = try_join_all(reads).await?;

    let mut entries = Vec::new();
    for reply in replies {
        let flat = decode::strings(reply, "contacts list")?;
        for pair in flat.chunks(2) {
            let [id, score] = pair else {
                return Err(corrupt("contacts list", "a shard returned an odd number of values"));
            };
            entries.push(parse_entry(id, score)?);
        }
    }
    entries.sort_unstable_by(|a, b| b.cmp(a));
    entries.truncate(count);
    Ok(entries)
}

fn parse_entry(id: &str, score: &str) -> Result<ListPosition> {
    let invalid = || corrupt("contacts list", format!("invalid entry {id:?} with score {score:?}"));
    let id: ContactId = id.parse().map_err(|_| invalid())?;
    // Scores are whole milliseconds, which doubles hold exactly up to 2^53;
    // Redis may still print one in exponent form.
    let updated_at = match score.parse::<Millis>() {
        Ok(millis) => millis,
        Err(_) => score.parse::<f64>().map_err(|_| invalid())? as Millis,
    };
    Ok(ListPosition { updated_at, id })
}

/// A list candidate's contact as stored.
struct Loaded {
    record: Option<ContactRecord>,
    push_count: usize,
    /// Whether the contact's segments set names the filtered segment;
    /// true without a segment filter.
    in_segment: bool,
}

/// Reads the record, push subscription count and, with a segment filter,
/// the segment membership of each entry's contact.
async fn load(
    connection: &mut ConnectionManager,
    keys: &Keys,
    entries: &[ListPosition],
    segment: Option<SegmentId>,
) -> Result<Vec<Loaded>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipeline = redis::pipe();
    for entry in entries {
        pipeline.hgetall(keys.contact(entry.id));
        pipeline.hlen(keys.push_subscriptions(entry.id));
        if let Some(segment) = segment {
            pipeline.sismember(keys.contact_segments(entry.id), segment.to_string());
        }
    }
    let replies: Vec<Value> = pipeline.query_async(connection).await?;

    let mut loaded = Vec::with_capacity(entries.len());
    let mut replies = replies.into_iter();
    let missing = || corrupt("contacts list", "a pipeline returned fewer replies than commands");
    for entry in entries {
        let (Some(hash), Some(push_count)) = (replies.next(), replies.next()) else {
            return Err(missing());
        };
        let record = decode::contact(entry.id, hash)?;
        let push_count: usize = decode::text(push_count, "push subscriptions")?
            .parse()
            .map_err(|_| corrupt("push subscriptions", "HLEN returned a non-number"))?;
        let in_segment = match segment {
            None => true,
            Some(_) => decode::text(replies.next().ok_or_else(missing)?, "segments set")? == "1",
        };
        loaded.push(Loaded { record, push_count, in_segment });
    }
    Ok(loaded)
}
