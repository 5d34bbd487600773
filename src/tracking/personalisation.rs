//! Personalisation headers: the visitor's contact id and allowed segment
//! ids, added to the request the proxy forwards to the shop.
//!
//! The request path never waits for the store. Lookups go through an
//! in-memory cache per tracker. On a miss, or an entry older than the TTL,
//! one background task reads the store and fills the cache, and the
//! request goes on without the headers (a stale entry is still used). So
//! a browser's first request after a quiet period, and every request
//! while the store is slow or down, reaches the shop without them; shops
//! must treat the headers as a hint. Membership changes reach the shop
//! within the TTL.
//!
//! Incoming headers with the configured names are removed from every
//! request while the feature is on, tracked or not, so a client cannot
//! pose as another contact. With the feature off they pass through
//! untouched, as any other header does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::config::PersonalisationConfig;
use crate::identity::Identity;
use crate::store::{ContactId, SegmentId, Store, StoreError, TrackerId};

/// Maximum cached trackers; the cache is emptied when it is full, which
/// costs one lookup per active browser.
const MAX_ENTRIES: usize = 100_000;

/// The contact and segments sent to the shop for one tracker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Known {
    /// `None` while the tracker belongs to no contact.
    contact: Option<ContactId>,
    segments: Vec<SegmentId>,
}

#[derive(Debug)]
struct Entry {
    known: Option<Known>,
    fetched: Instant,
    refreshing: bool,
}

/// Adds and strips the personalisation headers.
pub struct Personalisation {
    store: Arc<dyn Store>,
    contact_header: HeaderName,
    segments_header: HeaderName,
    allowed: Vec<String>,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<TrackerId, Entry>>>,
}

impl Personalisation {
    /// Builds the headers' handler, or `None` when the feature is off.
    pub fn new(config: &PersonalisationConfig, store: Arc<dyn Store>) -> Result<Option<Arc<Personalisation>>, String> {
        if !config.enabled {
            return Ok(None);
        }
        let header = |name: &str| {
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|error| error.to_string())
        };
        Ok(Some(Arc::new(Personalisation {
            store,
            contact_header: header(&config.contact_header)?,
            segments_header: header(&config.segments_header)?,
            allowed: config.segments.clone(),
            ttl: Duration::from_secs_f64(config.cache_ttl_secs),
            cache: Arc::new(Mutex::new(HashMap::new())),
        })))
    }

    /// Removes the headers a client sent.
    pub fn strip(&self, headers: &mut HeaderMap) {
        let contact = headers.remove(&self.contact_header);
        let segments = headers.remove(&self.segments_header);
        if contact.is_some() || segments.is_some() {
            metrics::counter!("footprint_personalisation_spoofed_total").increment(1);
        }
    }

    /// Adds the cached headers of `tracker`, and starts a refresh when the
    /// entry is missing or older than the TTL.
    pub fn add(self: &Arc<Self>, tracker: TrackerId, headers: &mut HeaderMap) {
        let known = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= MAX_ENTRIES && !cache.contains_key(&tracker) {
                cache.clear();
            }
            let entry =
                cache.entry(tracker).or_insert(Entry { known: None, fetched: Instant::now(), refreshing: false });
            // A tracker without a contact is looked up again at once,
            // because its next stored activity binds it.
            let unbound = entry.known.as_ref().is_none_or(|known| known.contact.is_none());
            let stale = unbound || entry.fetched.elapsed() >= self.ttl;
            if stale && !entry.refreshing {
                entry.refreshing = true;
                let this = Arc::clone(self);
                tokio::spawn(async move { this.refresh(tracker).await });
            }
            entry.known.clone()
        };

        let Some(Known { contact: Some(contact), segments }) = known else {
            return;
        };
        if let Ok(value) = HeaderValue::from_str(&contact.to_string()) {
            headers.insert(self.contact_header.clone(), value);
        }
        let ids: Vec<String> = segments.iter().map(SegmentId::to_string).collect();
        if let Ok(value) = HeaderValue::from_str(&ids.join(",")) {
            headers.insert(self.segments_header.clone(), value);
        }
    }

    async fn refresh(&self, tracker: TrackerId) {
        let looked_up = self.lookup(tracker).await;

        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = cache.entry(tracker).or_insert(Entry { known: None, fetched: Instant::now(), refreshing: false });
        entry.refreshing = false;
        match looked_up {
            Ok(known) => {
                entry.known = Some(known);
                entry.fetched = Instant::now();
            }
            Err(error) => {
                // The stale entry, if any, stays; the next request retries.
                metrics::counter!("footprint_personalisation_lookup_errors_total").increment(1);
                tracing::warn!(tracker.id = %tracker, %error, "personalisation lookup failed; headers left out");
            }
        }
    }

    async fn lookup(&self, tracker: TrackerId) -> Result<Known, StoreError> {
        let Some(bound) = self.store.tracker_contact(tracker).await? else {
            return Ok(Known::default());
        };
        let Some((contact, _)) = Identity::new(self.store.clone()).resolve(bound).await? else {
            return Ok(Known::default());
        };
        let member_of = self.store.contact_segments(contact).await?;
        if member_of.is_empty() || self.allowed.is_empty() {
            return Ok(Known { contact: Some(contact), segments: Vec::new() });
        }

        // Names need the definitions; ids alone need no read.
        let mut allowed: Vec<SegmentId> = self.allowed.iter().filter_map(|entry| entry.parse().ok()).collect();
        if allowed.len() < self.allowed.len() {
            let segments = self.store.segments().await?;
            allowed.extend(segments.iter().filter(|s| self.allowed.contains(&s.name)).map(|s| s.id));
        }
        let segments = member_of.into_iter().filter(|id| allowed.contains(id)).collect();
        Ok(Known { contact: Some(contact), segments })
    }
}
