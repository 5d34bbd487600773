//! Dynamic segment evaluation state of the embedded store: build progress,
//! the next-flip schedule by bucket and leases, like their Redis keys.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::store::{flip_bucket, ContactId, Millis, SegmentBuild, SegmentId};

#[derive(Debug, Default)]
pub(super) struct Schedule {
    pub builds: HashMap<SegmentId, SegmentBuild>,
    /// Each bucket's contacts ordered by next flip time.
    buckets: HashMap<u8, BTreeSet<(Millis, ContactId)>>,
    next_flips: HashMap<ContactId, Millis>,
    /// Lease name to its holder and expiry.
    leases: HashMap<String, (String, Instant)>,
}

impl Schedule {
    pub fn set_next_flip(&mut self, contact: ContactId, at: Option<Millis>) {
        let bucket = self.buckets.entry(flip_bucket(contact)).or_default();
        if let Some(previous) = self.next_flips.remove(&contact) {
            bucket.remove(&(previous, contact));
        }
        if let Some(at) = at {
            bucket.insert((at, contact));
            self.next_flips.insert(contact, at);
        }
    }

    pub fn next_flip(&self, contact: ContactId) -> Option<Millis> {
        self.next_flips.get(&contact).copied()
    }

    pub fn due(&self, bucket: u8, now: Millis, limit: usize) -> Vec<ContactId> {
        let Some(entries) = self.buckets.get(&bucket) else {
            return Vec::new();
        };
        entries.iter().take_while(|(at, _)| *at <= now).take(limit).map(|(_, contact)| *contact).collect()
    }

    pub fn acquire_lease(&mut self, name: &str, owner: &str, ttl: Duration, now: Instant) -> bool {
        let held_by_other = self.leases.get(name).is_some_and(|(holder, expires)| holder != owner && *expires > now);
        if held_by_other {
            return false;
        }
        self.leases.insert(name.to_owned(), (owner.to_owned(), now + ttl));
        true
    }

    pub fn release_lease(&mut self, name: &str, owner: &str) {
        if self.leases.get(name).is_some_and(|(holder, _)| holder == owner) {
            self.leases.remove(name);
        }
    }
}
