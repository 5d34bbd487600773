//! Redis store for production.
//!
//! Keys follow the layout in [`crate::store::keys`]. Every change that must
//! be atomic touches one hash tag and runs as one Lua script or one
//! `MULTI` pipeline, so the layout suits Redis Cluster, although this store
//! connects to one standalone server. The steps of
//! an operation that spans two tags follow the order the [`Store`] trait
//! documents. Activities are stream entries with the activity as JSON in
//! one field, so a cursor is the stream id plus the source.
//!
//! The connection is a `ConnectionManager`, which reconnects in the
//! background after a connection error but still fails the command that
//! hit the error. Operations that are safe to repeat are therefore sent
//! once more after such an error. `append_pending`, `append_activities`
//! and `claim_order` are not repeated, because a lost reply does not show
//! whether the server applied them; their callers see the error.
//! [`RedisStore::connect`] waits 1 s for a connection and 500 ms for a
//! reply, and makes two reconnect attempts (100 ms, then 200 ms apart) per
//! failed command. So while Redis is down an admin request fails with 503
//! within about two seconds, instead of waiting through the crate's default
//! six attempts. The recorder retries on its own schedule.
//! [`RedisStore::with_connection`] accepts a `ConnectionManager` configured
//! otherwise.
//!
//! Retention trimming is approximate (`MAXLEN ~`, `MINID ~`): Redis drops
//! whole stream nodes only, so a stream may hold somewhat more than
//! `max_activities` entries or entries somewhat older than `max_age`.

mod decode;
mod definitions;
mod listing;
mod membership;
mod schedule;
mod scripts;
mod segments;
mod timeline;
mod transfers;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Value};

use self::decode::{corrupt, ACTIVITY_FIELD, FIELD_PREFIX, STATUS_PREFIX};
use self::scripts::Scripts;
use super::keys::Keys;
use super::{
    now_millis, Activity, ActivityKind, ActivityPage, ActivityQuery, ContactId, ContactListPage, ContactListQuery,
    ContactRecord, ContactSnapshot, DefinitionWrite, FieldDefinition, IndexKind, ListPositions, MergeIntent, Millis,
    PushSubscription, Result, Retention, SegmentBuild, SegmentChange, SegmentId, SegmentWrite, Source, StatusUpdate,
    Store, StoreError, TrackerId, TransferId, TransferJob, CELLPHONE_FIELD, EMAIL_FIELD,
};
use crate::segments::Segment;

/// Time to open a connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time to wait for one reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Reconnect attempts after a failed command, and the longest pause
/// between two of them.
const RECONNECT_ATTEMPTS: usize = 2;
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// A [`Store`] on a standalone Redis server.
pub struct RedisStore {
    /// Cloned per operation: clones share one multiplexed connection.
    connection: ConnectionManager,
    keys: Keys,
    retention: Retention,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.keys.prefix()).field("retention", &self.retention).finish()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://host:port/db`) and
    /// stores every key under `key_prefix`.
    pub async fn connect(url: &str, key_prefix: &str, retention: Retention) -> Result<RedisStore> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisStore::with_connection(connection, key_prefix, retention))
    }

    /// Builds a store on an existing connection.
    pub fn with_connection(connection: ConnectionManager, key_prefix: &str, retention: Retention) -> RedisStore {
        RedisStore { connection, keys: Keys::new(key_prefix), retention, scripts: Scripts::new() }
    }

    /// Runs `attempt` and, when it failed because the connection broke,
    /// once more on the reconnected connection. Only for operations that
    /// give the same result when repeated.
    ///
    /// While the server is down, the repeat waits for the manager's
    /// reconnect attempts, so such an operation takes up to about two
    /// seconds to fail.
    async fn retrying<T, F, Fut>(&self, operation: &'static str, attempt: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        match attempt(self.connection.clone()).await {
            Err(StoreError::Redis(error)) if error.is_unrecoverable_error() => {
                tracing::warn!(store.operation = operation, %error, "redis connection lost, retrying once");
                attempt(self.connection.clone()).await
            }
            other => other,
        }
    }

    /// Returns the oldest stream id (in milliseconds) that age trimming
    /// keeps, or `None` when `max_age` reaches before the epoch.
    ///
    /// NOTE: the cutoff uses this host's clock while stream ids use the
    /// Redis server's, so clock skew between them shifts age trimming.
    fn min_id(&self) -> Option<Millis> {
        let max_age = Millis::try_from(self.retention.max_age.as_millis()).unwrap_or(Millis::MAX);
        let cutoff = now_millis().saturating_sub(max_age);
        (cutoff > 0).then_some(cutoff)
    }

    /// Adds an XADD of `activity` to `pipeline`, trimmed by count.
    fn add_xadd(&self, pipeline: &mut redis::Pipeline, key: &str, json: &str) {
        pipeline
            .cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.retention.max_activities)
            .arg("*")
            .arg(ACTIVITY_FIELD)
            .arg(json)
            .ignore();
    }

    /// Builds the `set_fields` script call; see set_fields.lua for its
    /// arguments.
    fn set_fields_invocation(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        only_if_empty: bool,
        at: Millis,
        activity: Option<&Activity>,
    ) -> Result<redis::ScriptInvocation<'_>> {
        let own = Source::Contact(contact);
        let (json, kind) = match activity {
            Some(activity) => (encode(activity)?, activity.kind.as_str()),
            None => (String::new(), ""),
        };
        let min_id = self.min_id().map(|min_id| min_id.to_string()).unwrap_or_default();

        let mut invocation = self.scripts.set_fields.prepare_invoke();
        invocation
            .key(self.keys.contact(contact))
            .key(self.keys.push_subscriptions(contact))
            .key(self.keys.contact_segments(contact))
            .key(self.keys.stream(&own))
            .key(self.keys.counters(&own))
            .key(self.keys.contact_sources(contact))
            .arg(at)
            .arg(if only_if_empty { "1" } else { "0" })
            .arg(json)
            .arg(kind)
            .arg(self.retention.max_activities)
            .arg(min_id)
            .arg(own.to_string())
            .arg(format!("{FIELD_PREFIX}{EMAIL_FIELD}"))
            .arg(format!("{FIELD_PREFIX}{CELLPHONE_FIELD}"));
        for (name, value) in fields {
            invocation.arg(format!("{FIELD_PREFIX}{name}")).arg(value);
        }
        Ok(invocation)
    }

    /// Writes `contact`'s list entries for `state`, which a script
    /// returned after changing the contact.
    async fn write_listing(&self, contact: ContactId, state: &listing::ListingState) -> Result<()> {
        self.retrying("refresh_listing", |mut connection| async move {
            listing::write_state(&mut connection, &self.keys, &self.scripts, contact, state).await
        })
        .await
    }

    /// Refreshes `contact`'s entries in the contacts list after a change to
    /// the contact, which must come first (see [`listing`]).
    async fn refresh_listing(&self, contact: ContactId) -> Result<()> {
        self.retrying("refresh_listing", |mut connection| async move {
            listing::refresh(&mut connection, &self.keys, &self.scripts, contact).await
        })
        .await
    }

    /// Adds or removes a push subscription; see the trait's contract.
    async fn change_push_subscription(
        &self,
        change: PushChange,
        contact: ContactId,
        endpoint_id: &str,
        at: Millis,
    ) -> Result<bool> {
        let script_keys = &[self.keys.contact(contact), self.keys.push_subscriptions(contact)];
        let (operation, action) = match change {
            PushChange::Add => ("add_push_subscription", "add"),
            PushChange::Remove => ("remove_push_subscription", "remove"),
        };

        // A repeat after a lost reply returns false although this call made
        // the change; the stored state is the same either way.
        let changed: i64 = self
            .retrying(operation, |mut connection| async move {
                let changed = self
                    .scripts
                    .push_subscription
                    .key(script_keys.as_slice())
                    .arg(action)
                    .arg(endpoint_id)
                    .arg(at)
                    .invoke_async(&mut connection)
                    .await?;
                Ok(changed)
            })
            .await?;

        // Refreshed even when nothing changed, because a repeat after a
        // lost reply reports no change for a change that was made.
        self.refresh_listing(contact).await?;
        Ok(changed == 1)
    }

    fn touch_keys(&self, contact: ContactId) -> [String; 3] {
        [self.keys.contact(contact), self.keys.contact_sources(contact), self.keys.contact_trackers(contact)]
    }
}

/// Whether [`RedisStore::change_push_subscription`] adds or removes.
#[derive(Clone, Copy, Debug)]
enum PushChange {
    Add,
    Remove,
}

fn encode(activity: &Activity) -> Result<String> {
    // serde_json fails only on non-string map keys or a failing Serialize
    // impl, and `Activity` has neither. The error is mapped all the same.
    serde_json::to_string(activity).map_err(|error| corrupt("activity", format!("encoding failed: {error}")))
}

fn tracker_of(source: &Source) -> String {
    match source {
        Source::Tracker { tracker, .. } => tracker.to_string(),
        Source::Contact(_) => String::new(),
    }
}

fn source_contact(source: &Source) -> ContactId {
    match source {
        Source::Tracker { contact, .. } | Source::Contact(contact) => *contact,
    }
}

fn intent_member(intent: MergeIntent) -> String {
    format!("{}>{}", intent.from, intent.into)
}

fn parse_intent(member: &str) -> Result<MergeIntent> {
    let invalid = || corrupt("merge intent", format!("invalid member {member:?}"));
    let (from, into) = member.split_once('>').ok_or_else(invalid)?;
    Ok(MergeIntent { from: from.parse().map_err(|_| invalid())?, into: into.parse().map_err(|_| invalid())? })
}

#[async_trait]
impl Store for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<()> {
        self.retrying("ping", |mut connection| async move {
            let _: String = redis::cmd("PING").query_async(&mut connection).await?;
            Ok(())
        })
        .await
    }

    async fn tracker_contact(&self, tracker: TrackerId) -> Result<Option<ContactId>> {
        let key = &self.keys.tracker(tracker);
        self.retrying("tracker_contact", |mut connection| async move {
            let contact: Option<String> = connection.hget(key, "contact").await?;
            contact
                .map(|id| {
                    id.parse().map_err(|_| corrupt("tracker", format!("invalid contact {id:?} of tracker {tracker}")))
                })
                .transpose()
        })
        .await
    }

    async fn bind_tracker(&self, tracker: TrackerId, contact: ContactId, expected: Option<ContactId>) -> Result<bool> {
        let source = Source::Tracker { tracker, contact };
        let script_keys = &[
            self.keys.tracker(tracker),
            self.keys.pending_stream(tracker),
            self.keys.pending_counters(tracker),
            self.keys.stream(&source),
            self.keys.counters(&source),
        ];
        let expected_arg = &expected.map(|id| id.to_string()).unwrap_or_default();

        let outcome: i64 = self
            .retrying("bind_tracker", |mut connection| async move {
                let outcome = self
                    .scripts
                    .bind_tracker
                    .key(script_keys.as_slice())
                    .arg(contact.to_string())
                    .arg(expected_arg)
                    .arg(now_millis())
                    .invoke_async(&mut connection)
                    .await?;
                Ok(outcome)
            })
            .await?;
        if outcome != 2 {
            return Ok(outcome == 1);
        }

        // The trackers sets live in the contacts' slots, so they change
        // after the binding. `touch` adds a missing entry again and readers
        // skip stale ones.
        let mut pipeline = redis::pipe();
        pipeline.sadd(self.keys.contact_trackers(contact), tracker.to_string()).ignore();
        if let Some(previous) = expected {
            pipeline.srem(self.keys.contact_trackers(previous), tracker.to_string()).ignore();
        }
        let pipeline = &pipeline;
        self.retrying("bind_tracker", |mut connection| async move {
            let () = pipeline.query_async(&mut connection).await?;
            Ok(())
        })
        .await?;
        Ok(true)
    }

    async fn append_pending(&self, tracker: TrackerId, activity: &Activity, ttl: Duration) -> Result<()> {
        let stream = self.keys.pending_stream(tracker);
        let counters = self.keys.pending_counters(tracker);
        // PEXPIRE takes a signed count, and a negative one deletes the key.
        let ttl_millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);

        let mut pipeline = redis::pipe();
        pipeline.atomic();
        self.add_xadd(&mut pipeline, &stream, &encode(activity)?);
        pipeline.hincr(&counters, activity.kind.as_str(), 1).ignore();
        pipeline.pexpire(&stream, ttl_millis).ignore();
        pipeline.pexpire(&counters, ttl_millis).ignore();

        let mut connection = self.connection.clone();
        let () = pipeline.query_async(&mut connection).await?;
        Ok(())
    }

    async fn contact_trackers(&self, contact: ContactId) -> Result<Vec<TrackerId>> {
        let key = &self.keys.contact_trackers(contact);
        self.retrying("contact_trackers", |mut connection| async move {
            let members: Value = connection.smembers(key).await?;
            let trackers: Vec<TrackerId> = decode::parsed(members, "trackers set")?;
            if trackers.is_empty() {
                return Ok(trackers);
            }

            // The set may list trackers that moved on to another contact.
            let mut pipeline = redis::pipe();
            for tracker in &trackers {
                pipeline.hget(self.keys.tracker(*tracker), "contact");
            }
            let bound: Vec<Option<String>> = pipeline.query_async(&mut connection).await?;
            let contact_text = contact.to_string();
            Ok(trackers
                .into_iter()
                .zip(bound)
                .filter(|(_, bound)| bound.as_deref() == Some(contact_text.as_str()))
                .map(|(tracker, _)| tracker)
                .collect())
        })
        .await
    }

    async fn append_activities(&self, batch: &[(Source, Activity)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }

        let mut pipeline = redis::pipe();
        let mut streams: BTreeSet<String> = BTreeSet::new();
        let mut touched: BTreeMap<(ContactId, Source), Millis> = BTreeMap::new();
        for (source, activity) in batch {
            let stream = self.keys.stream(source);
            self.add_xadd(&mut pipeline, &stream, &encode(activity)?);
            pipeline.hincr(self.keys.counters(source), activity.kind.as_str(), 1).ignore();
            streams.insert(stream);

            let at = touched.entry((source_contact(source), *source)).or_insert(activity.at);
            *at = (*at).max(activity.at);
        }

        if let Some(min_id) = self.min_id() {
            for stream in &streams {
                pipeline.cmd("XTRIM").arg(stream).arg("MINID").arg("~").arg(min_id).ignore();
            }
        }

        // EVAL rather than EVALSHA: after a server restart the script cache
        // is empty, and a NOSCRIPT failure halfway through the pipeline
        // could not be retried without appending the batch twice.
        let contacts: BTreeSet<ContactId> = touched.keys().map(|(contact, _)| *contact).collect();
        for ((contact, source), at) in touched {
            let [hash, sources, trackers] = self.touch_keys(contact);
            pipeline
                .cmd("EVAL")
                .arg(scripts::TOUCH)
                .arg(3)
                .arg(hash)
                .arg(sources)
                .arg(trackers)
                .arg(at)
                .arg(source.to_string())
                .arg(tracker_of(&source))
                .ignore();
        }

        let mut connection = self.connection.clone();
        let () = pipeline.query_async(&mut connection).await?;

        // The activities are stored at this point. A failed refresh is
        // logged, not returned, because the caller would retry the whole
        // batch and append it twice; the contact's next change refreshes
        // its list entries.
        for contact in contacts {
            if let Err(error) = self.refresh_listing(contact).await {
                tracing::warn!(contact.id = %contact, %error, "contacts list not refreshed after new activity");
            }
        }
        Ok(())
    }

    async fn activities(&self, sources: &[Source], query: &ActivityQuery) -> Result<ActivityPage> {
        self.retrying("activities", |mut connection| async move {
            timeline::read_page(&mut connection, &self.keys, sources, query).await
        })
        .await
    }

    async fn counters(&self, sources: &[Source]) -> Result<BTreeMap<ActivityKind, u64>> {
        let unique: BTreeSet<Source> = sources.iter().copied().collect();
        if unique.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pipeline = redis::pipe();
        for source in &unique {
            pipeline.hgetall(self.keys.counters(source));
        }
        let pipeline = &pipeline;

        self.retrying("counters", |mut connection| async move {
            let mut sums = BTreeMap::new();
            let replies: Vec<Value> = pipeline.query_async(&mut connection).await?;
            for reply in replies {
                decode::add_counters(reply, &mut sums)?;
            }
            Ok(sums)
        })
        .await
    }

    async fn touch(&self, contact: ContactId, source: Source, at: Millis) -> Result<()> {
        let script_keys = &self.touch_keys(contact);
        let source_text = &source.to_string();
        let tracker = &tracker_of(&source);

        self.retrying("touch", |mut connection| async move {
            let _: i64 = self
                .scripts
                .touch
                .key(script_keys.as_slice())
                .arg(at)
                .arg(source_text)
                .arg(tracker)
                .invoke_async(&mut connection)
                .await?;
            Ok(())
        })
        .await?;
        self.refresh_listing(contact).await
    }

    async fn contact(&self, contact: ContactId) -> Result<Option<ContactRecord>> {
        let key = &self.keys.contact(contact);
        self.retrying("contact", |mut connection| async move {
            let reply: Value = connection.hgetall(key).await?;
            decode::contact(contact, reply)
        })
        .await
    }

    async fn set_fields(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        only_if_empty: bool,
        at: Millis,
    ) -> Result<()> {
        let invocation = &self.set_fields_invocation(contact, fields, only_if_empty, at, None)?;
        let state = self
            .retrying("set_fields", |mut connection| async move {
                let reply: Value = invocation.invoke_async(&mut connection).await?;
                listing::decode_script_state(contact, reply)
            })
            .await?;
        self.write_listing(contact, &state).await
    }

    async fn set_fields_with_activity(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        activity: &Activity,
    ) -> Result<()> {
        let invocation = self.set_fields_invocation(contact, fields, false, activity.at, Some(activity))?;

        // Not repeated after a lost connection: the first attempt may have
        // appended the activity already.
        let mut connection = self.connection.clone();
        let reply: Value = invocation.invoke_async(&mut connection).await?;
        let state = listing::decode_script_state(contact, reply)?;
        self.write_listing(contact, &state).await
    }

    async fn create_contact(
        &self,
        contact: ContactId,
        fields: &BTreeMap<String, String>,
        activity: &Activity,
    ) -> Result<()> {
        let own = Source::Contact(contact);
        let at = activity.at;
        let values: Vec<(&String, &String)> = fields.iter().filter(|(_, value)| !value.is_empty()).collect();

        let mut hash = redis::cmd("HSET");
        hash.arg(self.keys.contact(contact)).arg("created").arg(at).arg("updated").arg(at);
        for (name, value) in &values {
            hash.arg(format!("{FIELD_PREFIX}{name}")).arg(value.as_str());
        }
        let mut pipeline = redis::pipe();
        pipeline.atomic();
        pipeline.add_command(hash).ignore();
        self.add_xadd(&mut pipeline, &self.keys.stream(&own), &encode(activity)?);
        pipeline.hincr(self.keys.counters(&own), activity.kind.as_str(), 1).ignore();
        pipeline.sadd(self.keys.contact_sources(contact), own.to_string()).ignore();

        // Not repeated after a lost connection, because the repeat could
        // append the activity twice.
        let mut connection = self.connection.clone();
        pipeline.exec_async(&mut connection).await?;

        let has = |name: &str| values.iter().any(|(field, _)| field.as_str() == name);
        let state = listing::ListingState::of_new_contact(at, has(EMAIL_FIELD), has(CELLPHONE_FIELD));
        self.write_listing(contact, &state).await
    }

    async fn sources(&self, contact: ContactId) -> Result<Vec<Source>> {
        let key = &self.keys.contact_sources(contact);
        self.retrying("sources", |mut connection| async move {
            let members: Value = connection.smembers(key).await?;
            decode::parsed(members, "sources set")
        })
        .await
    }

    async fn add_sources(&self, contact: ContactId, sources: &[Source]) -> Result<()> {
        if sources.is_empty() {
            return Ok(());
        }
        let key = &self.keys.contact_sources(contact);
        let members = &sources.iter().map(Source::to_string).collect::<Vec<_>>();

        self.retrying("add_sources", |mut connection| async move {
            let _: i64 = connection.sadd(key, members.as_slice()).await?;
            Ok(())
        })
        .await
    }

    async fn record_merge(&self, into: ContactId, from: ContactId, activity: &Activity) -> Result<bool> {
        let own = Source::Contact(into);
        let script_keys = &[self.keys.contact_merged(into), self.keys.stream(&own), self.keys.counters(&own)];
        let json = &encode(activity)?;

        // A repeat after a lost reply returns false although this call
        // recorded the merge; either way the merge is recorded once.
        self.retrying("record_merge", |mut connection| async move {
            let recorded: i64 = self
                .scripts
                .record_merge
                .key(script_keys.as_slice())
                .arg(from.to_string())
                .arg(json)
                .arg(activity.kind.as_str())
                .arg(self.retention.max_activities)
                .invoke_async(&mut connection)
                .await?;
            Ok(recorded == 1)
        })
        .await
    }

    async fn merged_contacts(&self, contact: ContactId) -> Result<Vec<ContactId>> {
        let key = &self.keys.contact_merged(contact);
        self.retrying("merged_contacts", |mut connection| async move {
            let members: Value = connection.smembers(key).await?;
            decode::parsed(members, "merged contacts set")
        })
        .await
    }

    async fn set_merged_into(&self, from: ContactId, into: ContactId) -> Result<()> {
        let key = &self.keys.contact(from);
        self.retrying("set_merged_into", |mut connection| async move {
            let _: i64 = connection.hset(key, "merged_into", into.to_string()).await?;
            Ok(())
        })
        .await?;
        self.refresh_listing(from).await
    }

    async fn add_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool> {
        self.change_push_subscription(PushChange::Add, contact, endpoint_id, at).await
    }

    async fn remove_push_subscription(&self, contact: ContactId, endpoint_id: &str, at: Millis) -> Result<bool> {
        self.change_push_subscription(PushChange::Remove, contact, endpoint_id, at).await
    }

    async fn push_subscriptions(&self, contact: ContactId) -> Result<Vec<PushSubscription>> {
        let key = &self.keys.push_subscriptions(contact);
        self.retrying("push_subscriptions", |mut connection| async move {
            let reply: Value = connection.hgetall(key).await?;
            let mut subscriptions = Vec::new();
            for (endpoint_id, created_at) in decode::hash(reply, "push subscriptions")? {
                let created_at = created_at.parse().map_err(|_| {
                    corrupt("push subscriptions", format!("invalid creation time {created_at:?} of contact {contact}"))
                })?;
                subscriptions.push(PushSubscription { endpoint_id, created_at });
            }
            subscriptions.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
            Ok(subscriptions)
        })
        .await
    }

    async fn list_positions(&self, query: &ContactListQuery) -> Result<ListPositions> {
        self.retrying("list_positions", |connection| async move {
            listing::read_positions(&connection, &self.keys, &self.scripts, query).await
        })
        .await
    }

    async fn list_contacts(&self, query: &ContactListQuery) -> Result<ContactListPage> {
        self.retrying("list_contacts", |mut connection| async move {
            listing::read_page(&mut connection, &self.keys, &self.scripts, query).await
        })
        .await
    }

    async fn claim_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<ContactId> {
        let key = &self.keys.index(kind, value);
        let parse = |owner: String| {
            owner
                .parse()
                .map_err(|_| corrupt("index", format!("invalid owner {owner:?} in the {} index", kind.as_str())))
        };

        // SETNX and GET instead of one script, because a claim of a new
        // value, the usual case, is then one plain command. An owner that
        // releases the value between the two makes GET find nothing, and
        // the claim starts over.
        loop {
            let claimed: bool = self
                .retrying("claim_index", |mut connection| async move {
                    Ok(connection.set_nx(key, contact.to_string()).await?)
                })
                .await?;
            if claimed {
                return Ok(contact);
            }
            let owner: Option<String> =
                self.retrying("claim_index", |mut connection| async move { Ok(connection.get(key).await?) }).await?;
            if let Some(owner) = owner {
                return parse(owner);
            }
        }
    }

    async fn index_lookup(&self, kind: IndexKind, value: &str) -> Result<Option<ContactId>> {
        let key = &self.keys.index(kind, value);
        self.retrying("index_lookup", |mut connection| async move {
            let owner: Option<String> = connection.get(key).await?;
            owner
                .map(|owner| {
                    owner.parse().map_err(|_| {
                        corrupt("index", format!("invalid owner {owner:?} in the {} index", kind.as_str()))
                    })
                })
                .transpose()
        })
        .await
    }

    async fn release_index(&self, kind: IndexKind, value: &str, contact: ContactId) -> Result<()> {
        let key = &self.keys.index(kind, value);
        self.retrying("release_index", |mut connection| async move {
            let _: i64 =
                self.scripts.release_index.key(key).arg(contact.to_string()).invoke_async(&mut connection).await?;
            Ok(())
        })
        .await
    }

    async fn update_statuses(&self, contact: ContactId, update: &StatusUpdate) -> Result<bool> {
        let own = Source::Contact(contact);
        let script_keys = [
            self.keys.contact(contact),
            self.keys.contact_sources(contact),
            self.keys.stream(&own),
            self.keys.counters(&own),
        ];

        let mut arguments: Vec<String> = vec![
            update.at.to_string(),
            own.to_string(),
            self.retention.max_activities.to_string(),
            self.min_id().map(|id| id.to_string()).unwrap_or_default(),
            update.expected.len().to_string(),
            update.changes.len().to_string(),
            update.activities.len().to_string(),
        ];
        for (name, value) in update.expected.iter().chain(&update.changes) {
            arguments.push(format!("{STATUS_PREFIX}{name}"));
            arguments.push(if value.is_some() { "1" } else { "0" }.to_owned());
            arguments.push(value.clone().unwrap_or_default());
        }
        for activity in &update.activities {
            arguments.push(encode(activity)?);
            arguments.push(activity.kind.as_str().to_owned());
        }

        // Sent once: a repeat after a lost reply could append the
        // activities twice (see the trait's contract).
        let mut connection = self.connection.clone();
        let applied: i64 = self
            .scripts
            .update_statuses
            .key(script_keys.as_slice())
            .arg(arguments)
            .invoke_async(&mut connection)
            .await?;

        // The update raised `updated_at`, which orders the contacts list.
        // As after new activity, a failed refresh is logged, not returned,
        // so the caller does not apply the update twice.
        if applied == 1 {
            if let Err(error) = self.refresh_listing(contact).await {
                tracing::warn!(contact.id = %contact, %error, "contacts list not refreshed after a status change");
            }
        }
        Ok(applied == 1)
    }

    async fn claim_order(&self, order_id: &str) -> Result<bool> {
        let mut connection = self.connection.clone();
        let claimed: bool = connection.set_nx(self.keys.order(order_id), 1).await?;
        Ok(claimed)
    }

    async fn begin_merge(&self, intent: MergeIntent) -> Result<()> {
        let key = &self.keys.pending_merges();
        self.retrying("begin_merge", |mut connection| async move {
            let _: i64 = connection.sadd(key, intent_member(intent)).await?;
            Ok(())
        })
        .await
    }

    async fn finish_merge(&self, intent: MergeIntent) -> Result<()> {
        let key = &self.keys.pending_merges();
        self.retrying("finish_merge", |mut connection| async move {
            let _: i64 = connection.srem(key, intent_member(intent)).await?;
            Ok(())
        })
        .await
    }

    async fn pending_merges(&self) -> Result<Vec<MergeIntent>> {
        let key = &self.keys.pending_merges();
        self.retrying("pending_merges", |mut connection| async move {
            let members: Value = connection.smembers(key).await?;
            decode::strings(members, "pending merges set")?.iter().map(|member| parse_intent(member)).collect()
        })
        .await
    }

    async fn delete_source(&self, source: &Source) -> Result<()> {
        let keys = &[self.keys.stream(source), self.keys.counters(source)];
        self.retrying("delete_source", |mut connection| async move {
            let _: i64 = connection.del(keys).await?;
            Ok(())
        })
        .await
    }

    async fn forget_tracker(&self, tracker: TrackerId, contact: ContactId) -> Result<bool> {
        let script_keys =
            &[self.keys.tracker(tracker), self.keys.pending_stream(tracker), self.keys.pending_counters(tracker)];
        let trackers_key = &self.keys.contact_trackers(contact);

        let deleted: i64 = self
            .retrying("forget_tracker", |mut connection| async move {
                let deleted: i64 = self
                    .scripts
                    .forget_tracker
                    .key(script_keys.as_slice())
                    .arg(contact.to_string())
                    .invoke_async(&mut connection)
                    .await?;
                Ok(deleted)
            })
            .await?;
        self.retrying("forget_tracker", |mut connection| async move {
            let _: i64 = connection.srem(trackers_key, tracker.to_string()).await?;
            Ok(())
        })
        .await?;
        Ok(deleted == 1)
    }

    async fn delete_contact(&self, contact: ContactId) -> Result<()> {
        // The segment index entries go first: only the segments set names
        // them, and a repeat after a crash still finds the set.
        let segments = self.segments_of(contact).await?;
        self.remove_index_entries(contact, &segments).await?;

        let keys = &[
            self.keys.contact_segments(contact),
            self.keys.contact(contact),
            self.keys.contact_sources(contact),
            self.keys.contact_trackers(contact),
            self.keys.contact_merged(contact),
            self.keys.push_subscriptions(contact),
            self.keys.stream(&Source::Contact(contact)),
            self.keys.counters(&Source::Contact(contact)),
        ];
        self.retrying("delete_contact", |mut connection| async move {
            let _: i64 = connection.del(keys).await?;
            Ok(())
        })
        .await?;
        self.refresh_listing(contact).await
    }

    async fn field_definitions(&self) -> Result<Vec<FieldDefinition>> {
        self.retrying("field_definitions", |mut connection| async move {
            definitions::all(&mut connection, &self.keys).await
        })
        .await
    }

    async fn field_definition(&self, name: &str) -> Result<Option<FieldDefinition>> {
        self.retrying("field_definition", |mut connection| async move {
            definitions::get(&mut connection, &self.keys, name).await
        })
        .await
    }

    // Create, replace and delete are not repeated after a connection error:
    // a repeat after an applied write would report `NameTaken`, `NotFound`
    // or `None` for a write that succeeded.
    async fn create_field_definition(&self, definition: &FieldDefinition) -> Result<DefinitionWrite> {
        definitions::create(&mut self.connection.clone(), &self.keys, &self.scripts, definition).await
    }

    async fn replace_field_definition(&self, name: &str, definition: &FieldDefinition) -> Result<DefinitionWrite> {
        definitions::replace(&mut self.connection.clone(), &self.keys, &self.scripts, name, definition).await
    }

    async fn delete_field_definition(&self, name: &str) -> Result<Option<FieldDefinition>> {
        definitions::delete(&mut self.connection.clone(), &self.keys, &self.scripts, name).await
    }

    async fn segments(&self) -> Result<Vec<Segment>> {
        self.all_segments().await
    }

    async fn segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        self.one_segment(id).await
    }

    async fn create_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        self.write_new_segment(segment).await
    }

    async fn replace_segment(&self, segment: &Segment) -> Result<SegmentWrite> {
        self.write_segment(segment).await
    }

    async fn delete_segment(&self, id: SegmentId) -> Result<Option<Segment>> {
        self.erase_segment(id).await
    }

    async fn add_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        self.add_member(segment, contact, at).await
    }

    async fn remove_segment_member(&self, segment: &Segment, contact: ContactId, at: Millis) -> Result<bool> {
        self.remove_member(segment, contact, at).await
    }

    async fn change_segment_members(
        &self,
        contact: ContactId,
        changes: &[SegmentChange<'_>],
        at: Millis,
    ) -> Result<Vec<bool>> {
        self.change_members(contact, changes, at).await
    }

    async fn contact_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        self.segments_of(contact).await
    }

    async fn contact_snapshot(&self, contact: ContactId) -> Result<ContactSnapshot> {
        self.snapshot(contact).await
    }

    async fn contact_snapshots(&self, contacts: &[ContactId]) -> Result<Vec<ContactSnapshot>> {
        self.snapshots(contacts).await
    }

    async fn lower_next_flips(&self, flips: &[(ContactId, Millis)]) -> Result<()> {
        self.lower_flips(flips).await
    }

    async fn leave_all_segments(&self, contact: ContactId) -> Result<Vec<SegmentId>> {
        self.leave_segments(contact).await
    }

    async fn segment_size(&self, id: SegmentId) -> Result<u64> {
        self.size_of(id).await
    }

    async fn segment_build(&self, id: SegmentId) -> Result<Option<SegmentBuild>> {
        self.read_build(id).await
    }

    async fn set_segment_build(&self, id: SegmentId, build: &SegmentBuild) -> Result<()> {
        self.write_build(id, build).await
    }

    async fn set_next_flip(&self, contact: ContactId, at: Option<Millis>) -> Result<()> {
        self.write_next_flip(contact, at).await
    }

    async fn next_flip(&self, contact: ContactId) -> Result<Option<Millis>> {
        self.read_next_flip(contact).await
    }

    async fn due_flips(&self, bucket: u8, now: Millis, limit: usize) -> Result<Vec<ContactId>> {
        self.read_due_flips(bucket, now, limit).await
    }

    async fn acquire_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        self.take_lease(name, owner, ttl).await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.drop_lease(name, owner).await
    }

    async fn save_transfer(&self, job: &TransferJob) -> Result<()> {
        self.write_transfer(job).await
    }

    async fn transfer(&self, id: TransferId) -> Result<Option<TransferJob>> {
        self.read_transfer(id).await
    }

    async fn transfers(&self, before: Option<TransferId>, limit: usize) -> Result<Vec<TransferJob>> {
        self.read_transfers(before, limit).await
    }
}
