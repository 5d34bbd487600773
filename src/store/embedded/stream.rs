//! An in-memory activity stream that numbers its entries the way a Redis
//! stream does, so that cursors from both backends mean the same thing.
//!
//! An entry's position is `(stored_at, seq)`: the milliseconds at which it
//! was appended and a sequence number that restarts at 0 in each new
//! millisecond. If the clock goes backwards, the stream keeps the last
//! millisecond and counts on, as Redis does, so positions only grow.

use std::collections::VecDeque;

use crate::store::{Activity, Millis, Retention};

/// One stored activity with its position in the stream.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub stored_at: Millis,
    pub seq: u64,
    pub activity: Activity,
}

/// Entries of one source, oldest first.
#[derive(Clone, Debug, Default)]
pub(super) struct Stream {
    entries: VecDeque<Entry>,
    /// The position of the newest entry ever appended. It survives trimming
    /// so that a trimmed stream never hands out a position twice.
    last: Option<(Millis, u64)>,
}

impl Stream {
    /// Appends `activity` at `now` and returns its position.
    pub fn append(&mut self, activity: Activity, now: Millis) -> (Millis, u64) {
        let position = match self.last {
            Some((last_ms, last_seq)) if last_ms >= now => (last_ms, last_seq + 1),
            _ => (now, 0),
        };

        self.last = Some(position);
        self.entries.push_back(Entry { stored_at: position.0, seq: position.1, activity });
        position
    }

    /// Drops the oldest entries beyond `retention.max_activities` and those
    /// stored more than `retention.max_age` before `now`.
    pub fn trim(&mut self, retention: &Retention, now: Millis) {
        while self.entries.len() > retention.max_activities {
            self.entries.pop_front();
        }

        let max_age = Millis::try_from(retention.max_age.as_millis()).unwrap_or(Millis::MAX);
        let cutoff = now.saturating_sub(max_age);
        while self.entries.front().is_some_and(|entry| entry.stored_at < cutoff) {
            self.entries.pop_front();
        }
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::ActivityKind;

    fn visit(at: Millis) -> Activity {
        Activity { at, kind: ActivityKind::PageVisit, url: "/".into(), referrer: None, properties: Default::default() }
    }

    #[test]
    fn append_counts_within_one_millisecond() {
        let mut stream = Stream::default();

        assert_eq!(stream.append(visit(1), 1000), (1000, 0));
        assert_eq!(stream.append(visit(2), 1000), (1000, 1));
        assert_eq!(stream.append(visit(3), 1001), (1001, 0));
    }

    #[test]
    fn append_never_goes_back_in_time() {
        let mut stream = Stream::default();

        stream.append(visit(1), 2000);
        assert_eq!(stream.append(visit(2), 1500), (2000, 1));
    }

    #[test]
    fn trim_drops_oldest_by_count_and_age() {
        let mut stream = Stream::default();
        for i in 0..10 {
            stream.append(visit(i), 1000 + i);
        }

        stream.trim(&Retention { max_activities: 5, max_age: Duration::from_secs(3600) }, 1010);
        let kept: Vec<Millis> = stream.entries().map(|entry| entry.stored_at).collect();
        assert_eq!(kept, vec![1005, 1006, 1007, 1008, 1009]);

        stream.trim(&Retention { max_activities: 5, max_age: Duration::from_millis(3) }, 1010);
        let kept: Vec<Millis> = stream.entries().map(|entry| entry.stored_at).collect();
        assert_eq!(kept, vec![1007, 1008, 1009]);
    }
}
