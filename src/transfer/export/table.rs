//! Rows of cells to CSV or NDJSON: the byte order mark, the header,
//! quoting, formula neutralisation and the output buffer, shared by the
//! contact and activity writers.
//!
//! CSV goes through the `csv` crate's writer, which quotes a cell that
//! contains the delimiter, a quote or a line break and doubles its quotes
//! (RFC 4180). Records end with CR LF as RFC 4180 specifies. An NDJSON
//! line is one JSON object whose members follow the column order, with
//! `null` for a missing value, so that every line has every column.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ExportError, ExportOptions};
use crate::store::Millis;
use crate::transfer::formula;
use crate::transfer::FileFormat;

/// Capacity of the output buffer, in bytes. Output reaches the underlying
/// writer in chunks of about this size.
pub const OUTPUT_BUFFER_BYTES: usize = 8 * 1024;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One cell's value, before it is written in the file's format.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum CellValue<'a> {
    /// No value: an empty CSV cell, `null` in NDJSON.
    Empty,
    /// Text, a JSON string in NDJSON.
    Text(Cow<'a, str>),
    /// A typed JSON value, written as it is in NDJSON. A CSV cell contains
    /// a string as it is, the items of an array joined with `|` (the
    /// separator imports split multiple choices on) and any other value as
    /// JSON text.
    Json(Value),
    /// An object of strings, as JSON text in a CSV cell.
    Object(&'a BTreeMap<String, String>),
}

/// Returns the RFC 3339 text of a stored time in UTC, or
/// [`CellValue::Empty`] for a time that RFC 3339 cannot write (a year
/// before 0 or after 9999).
pub(super) fn time_cell(at: Millis) -> CellValue<'static> {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000).ok();
    match time.and_then(|time| time.format(&Rfc3339).ok()) {
        Some(text) => CellValue::Text(Cow::Owned(text)),
        None => CellValue::Empty,
    }
}

/// A writer of rows in the export's format.
pub(super) struct TableWriter<W: Write> {
    output: Output<W>,
    rows: u64,
}

enum Output<W: Write> {
    Csv {
        /// Boxed because the csv writer's state is several times larger
        /// than the NDJSON variant.
        writer: Box<csv::Writer<W>>,
        /// One reused buffer per column.
        cells: Vec<String>,
    },
    Ndjson {
        writer: BufWriter<W>,
        /// Each column's name as a JSON string followed by `:`.
        keys: Vec<Vec<u8>>,
        /// The reused buffer of the line being built.
        line: Vec<u8>,
    },
}

impl<W: Write> TableWriter<W> {
    /// Creates the writer and writes the byte order mark and the header of
    /// a CSV file. An NDJSON file has no header.
    pub fn new(mut output: W, options: &ExportOptions, names: &[&str]) -> Result<TableWriter<W>, ExportError> {
        let output = match options.format {
            FileFormat::Csv => {
                if options.bom {
                    output.write_all(BOM).map_err(ExportError::Io)?;
                }
                let mut writer = csv::WriterBuilder::new()
                    .delimiter(options.delimiter.byte())
                    .terminator(csv::Terminator::CRLF)
                    .buffer_capacity(OUTPUT_BUFFER_BYTES)
                    .from_writer(output);
                // Column names are field names and fixed words, which never
                // start with a formula character.
                writer.write_record(names).map_err(ExportError::Csv)?;
                Output::Csv { writer: Box::new(writer), cells: vec![String::new(); names.len()] }
            }
            FileFormat::Ndjson => {
                let mut keys = Vec::with_capacity(names.len());
                for name in names {
                    let mut key = serde_json::to_vec(name).map_err(|error| ExportError::Io(error.into()))?;
                    key.push(b':');
                    keys.push(key);
                }
                Output::Ndjson { writer: BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, output), keys, line: Vec::new() }
            }
        };
        Ok(TableWriter { output, rows: 0 })
    }

    /// Writes one row whose cell in column `index` is `value_of(index)`.
    pub fn write_row<'a>(&mut self, mut value_of: impl FnMut(usize) -> CellValue<'a>) -> Result<(), ExportError> {
        match &mut self.output {
            Output::Csv { writer, cells } => {
                for (index, cell) in cells.iter_mut().enumerate() {
                    cell.clear();
                    push_csv_text(cell, value_of(index));
                    if formula::needs_quote(cell) {
                        cell.insert(0, formula::QUOTE);
                    }
                }
                writer.write_record(cells.iter()).map_err(ExportError::Csv)?;
            }
            Output::Ndjson { writer, keys, line } => {
                line.clear();
                line.push(b'{');
                for (index, key) in keys.iter().enumerate() {
                    if index > 0 {
                        line.push(b',');
                    }
                    line.extend_from_slice(key);
                    push_json(line, value_of(index)).map_err(|error| ExportError::Io(error.into()))?;
                }
                line.extend_from_slice(b"}\n");
                writer.write_all(line).map_err(ExportError::Io)?;
            }
        }

        self.rows += 1;
        Ok(())
    }

    /// Returns the number of rows written, without the header.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Returns the bytes held by the output buffer and the reused cell or
    /// line buffers: everything the writer keeps that grows with row
    /// length. It grows only when a cell or line is longer than any before
    /// it, never with the number of rows.
    pub fn retained_bytes(&self) -> usize {
        match &self.output {
            Output::Csv { cells, .. } => {
                // The csv writer's buffer keeps the capacity it was built with.
                let cell_bytes: usize = cells.iter().map(String::capacity).sum();
                OUTPUT_BUFFER_BYTES + cells.capacity() * size_of::<String>() + cell_bytes
            }
            Output::Ndjson { writer, keys, line } => {
                let key_bytes: usize = keys.iter().map(Vec::capacity).sum();
                writer.capacity() + line.capacity() + keys.capacity() * size_of::<Vec<u8>>() + key_bytes
            }
        }
    }

    /// Writes the buffered output to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<(), ExportError> {
        match &mut self.output {
            Output::Csv { writer, .. } => writer.flush(),
            Output::Ndjson { writer, .. } => writer.flush(),
        }
        .map_err(ExportError::Io)
    }

    /// Flushes the output and returns the underlying writer.
    pub fn finish(self) -> Result<W, ExportError> {
        match self.output {
            Output::Csv { writer, .. } => writer.into_inner().map_err(|error| ExportError::Io(error.into_error())),
            Output::Ndjson { writer, .. } => writer.into_inner().map_err(|error| ExportError::Io(error.into_error())),
        }
    }
}

/// Appends the CSV text of `value` to `cell`.
fn push_csv_text(cell: &mut String, value: CellValue<'_>) {
    match value {
        CellValue::Empty => {}
        CellValue::Text(text) => cell.push_str(&text),
        CellValue::Json(Value::String(text)) => cell.push_str(&text),
        CellValue::Json(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    cell.push('|');
                }
                match item {
                    Value::String(text) => cell.push_str(text),
                    other => cell.push_str(&other.to_string()),
                }
            }
        }
        CellValue::Json(other) => cell.push_str(&other.to_string()),
        // serde_json fails only on I/O errors and on map keys that are not
        // strings, and neither can happen here.
        CellValue::Object(object) => cell.push_str(&serde_json::to_string(object).unwrap_or_default()),
    }
}

/// Appends the JSON of `value` to `line`.
fn push_json(line: &mut Vec<u8>, value: CellValue<'_>) -> Result<(), serde_json::Error> {
    match value {
        CellValue::Empty => {
            line.extend_from_slice(b"null");
            Ok(())
        }
        CellValue::Text(text) => serde_json::to_writer(&mut *line, text.as_ref()),
        CellValue::Json(value) => serde_json::to_writer(&mut *line, &value),
        CellValue::Object(object) => serde_json::to_writer(&mut *line, object),
    }
}
