//! CSV records, streamed with the `csv` crate, and their row numbers.
//!
//! Records are read as bytes (`ByteRecord`) into one reused buffer and
//! decoded cell by cell.
//!
//! Only the line feed ends a record, so a CR LF line leaves a carriage
//! return at the end of its last cell, which trimming removes. That way
//! each record consumes its own line feed, and the `csv` crate's line
//! counter includes it in that record's lines. The crate skips empty lines, but a spreadsheet shows them
//! as rows, so row numbers count them back in: the lines a record
//! consumed, less its own line and the line breaks inside its quoted
//! cells, are the empty lines before it.
//!
//! NOTE: in a file that ends lines with carriage returns alone, empty
//! lines are not counted, because the `csv` crate counts line feeds only.

use std::borrow::Cow;
use std::io::Read;

use csv::{ByteRecord, ReaderBuilder, Terminator};

use super::cells::{Cell, CellRules};
use super::encoding::TextEncoding;
use super::input::{is_limit_error, Prefixed, RowLimit, Terminated};
use super::mapping::Mapping;
use super::options::Delimiter;
use super::reader::{invalid_text_reason, OpenError, ReadError};
use super::row::{check_row, Reject, RowOutcome};

/// Capacity of the CSV reader's input buffer, in bytes.
pub(super) const CSV_BUFFER_BYTES: usize = 8 * 1024;

/// The rows of a CSV file.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<RowLimit<Terminated<Prefixed<R>>>>,
    record: ByteRecord,
    encoding: TextEncoding,
    max_row_bytes: usize,
    /// Row number of the line after the last record read.
    next_row: u64,
    blank_rows: u64,
}

impl<R: Read> CsvRows<R> {
    /// Creates the reader; `terminator` is the byte that ends records,
    /// from [`super::dialect::detect_terminator`].
    pub fn new(
        input: Prefixed<R>,
        delimiter: Delimiter,
        terminator: u8,
        encoding: TextEncoding,
        max_row_bytes: usize,
    ) -> CsvRows<R> {
        let input = RowLimit::new(Terminated::new(input, terminator), 0);
        let reader = ReaderBuilder::new()
            .delimiter(delimiter.byte())
            .terminator(Terminator::Any(terminator))
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER_BYTES)
            .from_reader(input);
        CsvRows { reader, record: ByteRecord::new(), encoding, max_row_bytes, next_row: 1, blank_rows: 0 }
    }

    /// Reads the header row and returns its column names, trimmed.
    pub fn read_header(&mut self) -> Result<Vec<String>, OpenError> {
        match self.read_record() {
            Ok(Some(_)) => {}
            Ok(None) => return Err(OpenError::Empty),
            Err(ReadError::RowTooLong { max, .. }) => return Err(OpenError::HeaderTooLong { max }),
            Err(error) => return Err(OpenError::Read(error)),
        }

        let mut names = Vec::with_capacity(self.record.len());
        for (index, field) in self.record.iter().enumerate() {
            let name = self
                .encoding
                .decode(field)
                .ok_or(OpenError::InvalidHeader { position: index + 1, encoding: self.encoding })?;
            names.push(name.trim().to_owned());
        }
        Ok(names)
    }

    /// Reads and checks the next row that has any value. Returns `None` at
    /// the end of the file.
    pub fn next_row(&mut self, mapping: &Mapping, rules: &CellRules) -> Option<Result<RowOutcome, ReadError>> {
        loop {
            let row = match self.read_record() {
                Ok(Some(row)) => row,
                Ok(None) => return None,
                Err(error) => return Some(Err(error)),
            };
            if self.record.iter().all(|field| field.trim_ascii().is_empty()) {
                self.blank_rows += 1;
                continue;
            }

            let expected = mapping.columns().len();
            if self.record.len() != expected {
                let reason = format!(
                    "the row has {} cells but the header has {expected} columns; check for a missing delimiter \
                     or a delimiter inside an unquoted cell",
                    self.record.len()
                );
                return Some(Ok(RowOutcome::Reject(Reject::new(row, None, reason))));
            }

            let mut texts: Vec<Cow<'_, str>> = Vec::with_capacity(expected);
            for (index, field) in self.record.iter().enumerate() {
                let Some(text) = self.encoding.decode(field) else {
                    let column = mapping.columns()[index].name.as_str();
                    let reason = invalid_text_reason(self.encoding);
                    return Some(Ok(RowOutcome::Reject(Reject::new(row, Some(column), reason))));
                };
                texts.push(text);
            }
            let cells: Vec<Cell<'_>> = texts.iter().map(|text| Cell::Text(text)).collect();
            if cells.iter().all(Cell::is_empty) {
                self.blank_rows += 1;
                continue;
            }

            return Some(Ok(check_row(row, &cells, mapping, rules)));
        }
    }

    /// Returns the number of rows skipped because they contain no value,
    /// empty lines included.
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }

    /// Returns the bytes held by the reader's buffers. The `csv` crate does
    /// not expose its record buffer's capacity, so the current record's
    /// length is counted instead. That buffer grows to the longest row and
    /// is then reused.
    pub fn retained_bytes(&self) -> usize {
        let record = self.record.as_slice().len() + self.record.len() * std::mem::size_of::<usize>();
        CSV_BUFFER_BYTES + record + self.reader.get_ref().get_ref().get_ref().buffered_bytes()
    }

    /// Reads the next record into `self.record` and returns its row number,
    /// or `None` at the end of the file.
    fn read_record(&mut self) -> Result<Option<u64>, ReadError> {
        let start = self.reader.position().clone();
        // The CSV reader may buffer up to its capacity past the record.
        let limit = start.byte() + (self.max_row_bytes + CSV_BUFFER_BYTES) as u64;
        self.reader.get_mut().set_limit(limit);

        let found = self.reader.read_byte_record(&mut self.record).map_err(|error| self.read_error(error))?;
        let end = self.reader.position();
        let lines = end.line() - start.line();
        if !found {
            self.blank_rows += lines;
            return Ok(None);
        }
        if end.byte() - start.byte() > self.max_row_bytes as u64 {
            return Err(ReadError::RowTooLong { row: self.next_row, max: self.max_row_bytes });
        }

        let breaks_inside = self.record.as_slice().iter().filter(|byte| **byte == b'\n').count() as u64;
        let empty_lines = lines.saturating_sub(breaks_inside + 1);
        self.blank_rows += empty_lines;
        let row = self.next_row + empty_lines;
        self.next_row = row + 1;
        Ok(Some(row))
    }

    fn read_error(&self, error: csv::Error) -> ReadError {
        match error.kind() {
            csv::ErrorKind::Io(io) if is_limit_error(io) => {
                ReadError::RowTooLong { row: self.next_row, max: self.max_row_bytes }
            }
            _ => ReadError::Csv(error),
        }
    }
}
