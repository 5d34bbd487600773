//! Byte-level input: the sniffed prefix put back in front of the rest of
//! the file, and the limit that keeps one CSV row from taking the whole
//! file into memory.

use std::io::{self, Read};

/// Reads up to `max` bytes, fewer only at the end of the input.
pub fn read_prefix<R: Read>(input: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(max);
    input.take(max as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// A reader that returns `prefix` from `start` on, then the rest of the
/// input. The prefix buffer is freed once it has been read.
pub struct Prefixed<R> {
    prefix: Vec<u8>,
    position: usize,
    rest: R,
}

impl<R: Read> Prefixed<R> {
    pub fn new(prefix: Vec<u8>, start: usize, rest: R) -> Prefixed<R> {
        Prefixed { prefix, position: start, rest }
    }

    /// Returns the bytes held by the prefix buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.prefix.capacity()
    }
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position < self.prefix.len() {
            let count = (&self.prefix[self.position..]).read(buf)?;
            self.position += count;
            if self.position == self.prefix.len() {
                self.prefix = Vec::new();
                self.position = 0;
            }
            return Ok(count);
        }
        self.rest.read(buf)
    }
}

/// A reader that ends its input with `terminator` when the input does not
/// already end with it, so that the last CSV record has a terminator like
/// every other and row numbers can be counted from line feeds.
pub struct Terminated<R> {
    inner: R,
    terminator: u8,
    last: Option<u8>,
    done: bool,
}

impl<R: Read> Terminated<R> {
    pub fn new(inner: R, terminator: u8) -> Terminated<R> {
        Terminated { inner, terminator, last: None, done: false }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Terminated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }

        let count = self.inner.read(buf)?;
        if count > 0 {
            self.last = Some(buf[count - 1]);
            return Ok(count);
        }

        self.done = true;
        match self.last {
            Some(last) if last != self.terminator => {
                buf[0] = self.terminator;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// The error [`RowLimit`] returns once its limit is reached.
#[derive(Debug, thiserror::Error)]
#[error("row length limit reached")]
pub struct LimitReached;

/// A reader that delivers no byte past a limit that the CSV reader moves
/// forward after each record. Reaching the limit fails the read with
/// [`LimitReached`] inside an `io::Error`.
pub struct RowLimit<R> {
    inner: R,
    delivered: u64,
    limit: u64,
}

impl<R: Read> RowLimit<R> {
    pub fn new(inner: R, limit: u64) -> RowLimit<R> {
        RowLimit { inner, delivered: 0, limit }
    }

    /// Allows reading up to byte offset `limit` of the input.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

/// Returns whether `error` came from reaching a [`RowLimit`].
pub fn is_limit_error(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<LimitReached>())
}

impl<R: Read> Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let allowed = self.limit.saturating_sub(self.delivered);
        if allowed == 0 {
            return Err(io::Error::other(LimitReached));
        }

        let length = buf.len().min(usize::try_from(allowed).unwrap_or(usize::MAX));
        let count = self.inner.read(&mut buf[..length])?;
        self.delivered += count as u64;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_stops_at_max_and_rest_follows() {
        let mut input: &[u8] = b"abcdef";

        let prefix = read_prefix(&mut input, 4).expect("in memory");
        let mut joined = String::new();
        Prefixed::new(prefix, 1, input).read_to_string(&mut joined).expect("in memory");

        assert_eq!(joined, "bcdef");
    }

    #[test]
    fn prefix_buffer_is_freed_once_read() {
        let mut reader = Prefixed::new(b"abc".to_vec(), 0, &b"def"[..]);
        let mut buf = [0; 3];

        reader.read_exact(&mut buf).expect("in memory");

        assert_eq!(&buf, b"abc");
        assert_eq!(reader.buffered_bytes(), 0);
    }

    #[test]
    fn terminator_is_added_only_when_missing() {
        let read_all = |input: &'static [u8]| {
            let mut text = Vec::new();
            Terminated::new(input, b'\n').read_to_end(&mut text).expect("in memory");
            text
        };

        assert_eq!(read_all(b"a,b"), b"a,b\n");
        assert_eq!(read_all(b"a,b\n"), b"a,b\n");
        assert_eq!(read_all(b""), b"");
    }

    #[test]
    fn row_limit_fails_past_limit() {
        let mut reader = RowLimit::new(&b"abcdef"[..], 4);
        let mut buf = [0; 8];

        assert_eq!(reader.read(&mut buf).expect("under limit"), 4);
        let error = reader.read(&mut buf).expect_err("limit reached");
        assert!(is_limit_error(&error));

        reader.set_limit(10);
        assert_eq!(reader.read(&mut buf).expect("limit moved"), 2);
    }
}
