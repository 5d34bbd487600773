//! NDJSON lines: one JSON object per line, keys as column names.
//!
//! The keys of the first object play the role of the header for the
//! mapping checks made before any row is read, so the import key and the
//! columns of the explicit mapping must appear in it (with `null` where
//! that line has no value). Keys first seen on later lines join the
//! columns as they appear, so the mapping report ends up listing the
//! union of all keys. Row numbers are line numbers, and blank lines are
//! skipped but counted.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use serde_json::{Map, Value};

use super::cells::{Cell, CellRules};
use super::encoding::TextEncoding;
use super::input::Prefixed;
use super::mapping::Mapping;
use super::reader::{invalid_text_reason, OpenError, ReadError};
use super::row::{check_row, Reject, RowOutcome};

/// Maximum number of distinct keys in a file. It bounds the memory of
/// the column list, which a CSV header bounds by its length instead.
pub const MAX_NDJSON_COLUMNS: usize = 4096;

/// One line as read.
enum Line {
    End,
    /// The line is in `NdjsonRows::line`, without its line break.
    Read,
    /// The line was longer than the limit and has been skipped.
    TooLong,
}

/// The rows of an NDJSON file.
pub struct NdjsonRows<R: Read> {
    input: BufReader<Prefixed<R>>,
    line: Vec<u8>,
    line_number: u64,
    encoding: TextEncoding,
    max_row_bytes: usize,
    /// Column index of each key seen, as written in the file.
    keys: HashMap<String, usize>,
    /// The first object, read for the header and not yet checked.
    first: Option<(u64, Map<String, Value>)>,
    blank_rows: u64,
}

impl<R: Read> NdjsonRows<R> {
    pub fn new(input: Prefixed<R>, encoding: TextEncoding, max_row_bytes: usize) -> NdjsonRows<R> {
        NdjsonRows {
            input: BufReader::new(input),
            line: Vec::new(),
            line_number: 0,
            encoding,
            max_row_bytes,
            keys: HashMap::new(),
            first: None,
            blank_rows: 0,
        }
    }

    /// Reads up to the first non-blank line, which must be a JSON object,
    /// and returns its keys, trimmed, as the header.
    pub fn read_header(&mut self) -> Result<Vec<String>, OpenError> {
        loop {
            match self.read_line().map_err(|error| OpenError::Read(ReadError::Io(error)))? {
                Line::End => return Err(OpenError::Empty),
                Line::TooLong => return Err(OpenError::HeaderTooLong { max: self.max_row_bytes }),
                Line::Read if self.line.trim_ascii().is_empty() => self.blank_rows += 1,
                Line::Read => break,
            }
        }

        let line = self.line_number;
        let object = match self.parse_line() {
            Ok(object) => object,
            Err(reason) => return Err(OpenError::FirstLine { line, reason }),
        };
        if object.len() > MAX_NDJSON_COLUMNS {
            return Err(OpenError::Read(ReadError::TooManyColumns { max: MAX_NDJSON_COLUMNS }));
        }

        let mut header = Vec::with_capacity(object.len());
        for (index, key) in object.keys().enumerate() {
            self.keys.insert(key.clone(), index);
            header.push(key.trim().to_owned());
        }
        self.first = Some((line, object));
        Ok(header)
    }

    /// Reads and checks the next line that has any value. Returns `None` at
    /// the end of the file.
    pub fn next_row(&mut self, mapping: &mut Mapping, rules: &CellRules) -> Option<Result<RowOutcome, ReadError>> {
        if let Some((row, object)) = self.first.take() {
            match self.check_object(row, &object, mapping, rules) {
                Ok(Some(outcome)) => return Some(Ok(outcome)),
                Ok(None) => {}
                Err(error) => return Some(Err(error)),
            }
        }

        loop {
            let row = self.line_number + 1;
            match self.read_line() {
                Err(error) => return Some(Err(ReadError::Io(error))),
                Ok(Line::End) => return None,
                Ok(Line::TooLong) => {
                    let reason = format!("the line is longer than {} bytes", self.max_row_bytes);
                    return Some(Ok(RowOutcome::Reject(Reject::new(row, None, reason))));
                }
                Ok(Line::Read) if self.line.trim_ascii().is_empty() => {
                    self.blank_rows += 1;
                    continue;
                }
                Ok(Line::Read) => {}
            }

            let object = match self.parse_line() {
                Ok(object) => object,
                Err(reason) => return Some(Ok(RowOutcome::Reject(Reject::new(row, None, reason)))),
            };
            match self.check_object(row, &object, mapping, rules) {
                Ok(Some(outcome)) => return Some(Ok(outcome)),
                Ok(None) => continue,
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// Returns the number of rows skipped because they contain no value,
    /// blank lines included.
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }

    /// Returns the bytes held by the reader's buffers and its key index.
    pub fn retained_bytes(&self) -> usize {
        let keys: usize = self.keys.keys().map(|key| key.capacity() + std::mem::size_of::<(String, usize)>()).sum();
        self.input.capacity() + self.line.capacity() + self.input.get_ref().buffered_bytes() + keys
    }

    /// Reads the next line into `self.line` without its line break. A line
    /// longer than the limit is skipped up to its end without storing it.
    fn read_line(&mut self) -> io::Result<Line> {
        self.line.clear();
        let limit = self.max_row_bytes as u64 + 1;
        let count = (&mut self.input).take(limit).read_until(b'\n', &mut self.line)?;
        if count == 0 {
            return Ok(Line::End);
        }
        self.line_number += 1;

        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        } else if count as u64 == limit {
            self.line.clear();
            self.skip_rest_of_line()?;
            return Ok(Line::TooLong);
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(Line::Read)
    }

    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let buffer = self.input.fill_buf()?;
            if buffer.is_empty() {
                return Ok(());
            }
            if let Some(end) = buffer.iter().position(|byte| *byte == b'\n') {
                self.input.consume(end + 1);
                return Ok(());
            }
            let length = buffer.len();
            self.input.consume(length);
        }
    }

    /// Decodes and parses the current line, or returns the reason it is
    /// not a JSON object.
    fn parse_line(&self) -> Result<Map<String, Value>, String> {
        let text = self.encoding.decode(&self.line).ok_or_else(|| invalid_text_reason(self.encoding))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => {
                Err("the line is not a JSON object; each line must be one object of column names to values".to_owned())
            }
            Err(error) => Err(format!("invalid JSON: {error}")),
        }
    }

    /// Checks one object. Returns `None` when it contains no value.
    fn check_object(
        &mut self,
        row: u64,
        object: &Map<String, Value>,
        mapping: &mut Mapping,
        rules: &CellRules,
    ) -> Result<Option<RowOutcome>, ReadError> {
        for key in object.keys() {
            if self.keys.contains_key(key) {
                continue;
            }
            if self.keys.len() >= MAX_NDJSON_COLUMNS {
                return Err(ReadError::TooManyColumns { max: MAX_NDJSON_COLUMNS });
            }
            let index = mapping.add_column(key.trim().to_owned());
            self.keys.insert(key.clone(), index);
        }

        let mut cells = vec![Cell::Missing; mapping.columns().len()];
        for (key, value) in object {
            cells[self.keys[key]] = Cell::Json(value);
        }
        if cells.iter().all(Cell::is_empty) {
            self.blank_rows += 1;
            return Ok(None);
        }
        Ok(Some(check_row(row, &cells, mapping, rules)))
    }
}
