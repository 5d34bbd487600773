//! Paging through a timeline made of several Redis streams.
//!
//! A page is the newest `limit` activities of all sources below `before`
//! and above `after`, in the order (stored_at, seq, source). Each source is
//! read newest first with XREVRANGE in chunks, and the chunk heads are
//! merged, so a page costs a few chunks per source instead of whole
//! streams. Kind filters apply after reading, so a rare kind can make the
//! reader walk far back; retention bounds that walk.
//!
//! Cursor bounds become per-stream id bounds. An entry with the cursor's
//! (stored_at, seq) sorts before or after the cursor by its source name.
//! So the id bound is inclusive for some sources and exclusive for others
//! (the `(` prefix, which needs Redis 6.2 or later).

use std::collections::VecDeque;

use redis::aio::ConnectionManager;

use super::decode;
use crate::store::keys::Keys;
use crate::store::{ActivityPage, ActivityQuery, Cursor, Result, Source, StoredActivity};

/// Smallest and largest number of entries read from one stream at a time.
const MIN_CHUNK: usize = 16;
const MAX_CHUNK: usize = 512;

/// Reading state of one source.
struct Reader {
    key: String,
    name: String,
    /// Upper id bound of the next XREVRANGE.
    upper: String,
    /// Lower id bound of every XREVRANGE.
    lower: String,
    /// Entries read but not merged yet, newest first.
    buffer: VecDeque<StoredActivity>,
    exhausted: bool,
}

impl Reader {
    fn new(keys: &Keys, source: &Source, query: &ActivityQuery) -> Reader {
        let name = source.to_string();
        let mut reader = Reader {
            key: keys.stream(source),
            upper: "+".to_owned(),
            lower: "-".to_owned(),
            name,
            buffer: VecDeque::new(),
            exhausted: false,
        };

        if let Some(before) = &query.before {
            match upper_bound(&reader.name, before) {
                Some(bound) => reader.upper = bound,
                None => reader.exhausted = true,
            }
        }
        if let Some(after) = &query.after {
            reader.lower = lower_bound(&reader.name, after);
        }
        reader
    }

    fn head(&self) -> Option<&Cursor> {
        self.buffer.front().map(|item| &item.cursor)
    }
}

/// Returns the XREVRANGE end id for entries that sort before `cursor`, or `None`
/// when this source has no such entries.
fn upper_bound(source: &str, cursor: &Cursor) -> Option<String> {
    if cursor.stored_at < 0 {
        return None;
    }
    if source < cursor.source.as_str() {
        return Some(format!("{}-{}", cursor.stored_at, cursor.seq));
    }
    if cursor.stored_at == 0 && cursor.seq == 0 {
        return None;
    }
    Some(format!("({}-{}", cursor.stored_at, cursor.seq))
}

/// Returns the XREVRANGE start id for entries that sort after `cursor`.
fn lower_bound(source: &str, cursor: &Cursor) -> String {
    if cursor.stored_at < 0 {
        return "-".to_owned();
    }
    if source > cursor.source.as_str() {
        return format!("{}-{}", cursor.stored_at, cursor.seq);
    }
    format!("({}-{}", cursor.stored_at, cursor.seq)
}

/// Reads one page of the timeline of `sources`.
pub(super) async fn read_page(
    connection: &mut ConnectionManager,
    keys: &Keys,
    sources: &[Source],
    query: &ActivityQuery,
) -> Result<ActivityPage> {
    let limit = query.limit.max(1);
    let chunk = (limit + 1).clamp(MIN_CHUNK, MAX_CHUNK);

    let mut unique: Vec<Source> = sources.to_vec();
    unique.sort();
    unique.dedup();
    let mut readers: Vec<Reader> = unique.iter().map(|source| Reader::new(keys, source, query)).collect();

    // One item more than the page shows whether a next page exists.
    let mut items: Vec<StoredActivity> = Vec::with_capacity(limit + 1);
    while items.len() <= limit {
        refill(connection, &mut readers, chunk).await?;

        let newest = readers.iter_mut().filter(|reader| reader.head().is_some()).max_by(|a, b| a.head().cmp(&b.head()));
        let Some(reader) = newest else {
            break;
        };
        let Some(item) = reader.buffer.pop_front() else {
            break;
        };

        if query.kinds.is_empty() || query.kinds.contains(&item.activity.kind) {
            items.push(item);
        }
    }

    let has_more = items.len() > limit;
    items.truncate(limit);
    let next = if has_more { items.last().map(|item| item.cursor.clone()) } else { None };
    Ok(ActivityPage { items, next })
}

/// Reads the next chunk of every source whose buffer ran empty, in one
/// pipeline, so that every unfinished source has a head to compare.
async fn refill(connection: &mut ConnectionManager, readers: &mut [Reader], chunk: usize) -> Result<()> {
    let empty: Vec<usize> =
        (0..readers.len()).filter(|&index| readers[index].buffer.is_empty() && !readers[index].exhausted).collect();
    if empty.is_empty() {
        return Ok(());
    }

    let mut pipeline = redis::pipe();
    for &index in &empty {
        let reader = &readers[index];
        pipeline.cmd("XREVRANGE").arg(&reader.key).arg(&reader.upper).arg(&reader.lower).arg("COUNT").arg(chunk);
    }
    let replies: Vec<redis::Value> = pipeline.query_async(connection).await?;

    for (index, reply) in empty.into_iter().zip(replies) {
        let reader = &mut readers[index];
        let entries = decode::stream_entries(reply, &reader.name)?;

        match entries.last() {
            Some(oldest) if entries.len() >= chunk => {
                let cursor = &oldest.cursor;
                if cursor.stored_at == 0 && cursor.seq == 0 {
                    reader.exhausted = true;
                } else {
                    reader.upper = format!("({}-{}", cursor.stored_at, cursor.seq);
                }
            }
            _ => reader.exhausted = true,
        }
        reader.buffer.extend(entries);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(source: &str) -> Cursor {
        Cursor { stored_at: 100, seq: 2, source: source.to_owned() }
    }

    #[test]
    fn upper_bound_includes_equal_id_of_smaller_source() {
        assert_eq!(upper_bound("c:a", &cursor("c:b")).as_deref(), Some("100-2"));
        assert_eq!(upper_bound("c:b", &cursor("c:b")).as_deref(), Some("(100-2"));
        assert_eq!(upper_bound("c:c", &cursor("c:b")).as_deref(), Some("(100-2"));
    }

    #[test]
    fn lower_bound_includes_equal_id_of_larger_source() {
        assert_eq!(lower_bound("c:a", &cursor("c:b")), "(100-2");
        assert_eq!(lower_bound("c:b", &cursor("c:b")), "(100-2");
        assert_eq!(lower_bound("c:c", &cursor("c:b")), "100-2");
    }

    #[test]
    fn upper_bound_below_first_id_is_empty() {
        let first = Cursor { stored_at: 0, seq: 0, source: "c:b".to_owned() };
        assert_eq!(upper_bound("c:c", &first), None);
    }
}
