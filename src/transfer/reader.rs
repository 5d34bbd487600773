//! Opening a file for import and iterating over its checked rows.

use std::io::{self, Read};

use super::cells::{CellRules, DateFormat};
use super::csv_rows::CsvRows;
use super::dialect::{detect_delimiter, detect_terminator};
use super::encoding::{self, TextEncoding, SNIFF_BYTES};
use super::input::{read_prefix, Prefixed};
use super::mapping::{Mapping, MappingError, MappingReport};
use super::ndjson_rows::NdjsonRows;
use super::options::{Delimiter, FileFormat, ImportOptions};
use super::row::RowOutcome;
use crate::store::FieldDefinition;

/// A file that cannot be imported at all, found before any row is read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("reading the file failed")]
    Io(#[source] io::Error),
    #[error("the file is empty; expected a header row or a JSON object")]
    Empty,
    #[error("the file is {name}; save it as UTF-8 (for example as \"CSV UTF-8\") and import it again")]
    Utf16 { name: &'static str },
    #[error(
        "column {position} of the header is not valid {encoding} text; save the file as UTF-8 or choose its encoding"
    )]
    InvalidHeader { position: usize, encoding: TextEncoding },
    #[error("the header is longer than {max} bytes; a quoted cell may be missing its closing quote")]
    HeaderTooLong { max: usize },
    #[error("line {line}, the first with content, cannot start an NDJSON import: {reason}")]
    FirstLine { line: u64, reason: String },
    #[error("invalid date format: {reason}")]
    InvalidDateFormat { reason: String },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Read(ReadError),
}

/// A failure that ends the reading of a file. Rows read before it stay
/// valid; no row after it is read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the file failed")]
    Io(#[source] io::Error),
    #[error("reading the CSV file failed")]
    Csv(#[source] csv::Error),
    #[error("row {row} is longer than {max} bytes; a quoted cell may be missing its closing quote")]
    RowTooLong { row: u64, max: usize },
    #[error("the file has more than {max} distinct keys")]
    TooManyColumns { max: usize },
}

/// Returns the reject reason for a cell or line that is not valid text in the
/// file's encoding.
pub fn invalid_text_reason(encoding: TextEncoding) -> String {
    format!(
        "not valid {encoding} text, the encoding the file is read with; save the file as UTF-8, or import it \
         with the encoding it was saved in (such as windows-1252)"
    )
}

/// Opens `input` for import: detects the encoding and delimiter, reads the
/// header (or the first NDJSON object) and checks the column mapping
/// against `definitions`. Nothing past the header is read before the
/// returned iterator is advanced.
pub fn read<R: Read>(
    mut input: R,
    options: &ImportOptions,
    definitions: &[FieldDefinition],
) -> Result<RowReader<R>, OpenError> {
    let date_format = options.date_format.as_deref().map(DateFormat::parse).transpose();
    let date_format = date_format.map_err(|reason| OpenError::InvalidDateFormat { reason })?;
    let rules = CellRules { country: options.phone_country, today: options.today, date_format };

    let prefix = read_prefix(&mut input, SNIFF_BYTES).map_err(OpenError::Io)?;
    let detected =
        encoding::detect(&prefix, options.encoding).map_err(|utf16| OpenError::Utf16 { name: utf16.name })?;
    let delimiter = match options.format {
        FileFormat::Csv => Some(options.delimiter.unwrap_or_else(|| detect_delimiter(&prefix[detected.bom_len..]))),
        FileFormat::Ndjson => None,
    };
    let terminator = detect_terminator(&prefix[detected.bom_len..]);
    let input = Prefixed::new(prefix, detected.bom_len, input);

    let (source, header) = match delimiter {
        Some(delimiter) => {
            let mut rows = CsvRows::new(input, delimiter, terminator, detected.encoding, options.max_row_bytes);
            let header = rows.read_header()?;
            (Source::Csv(rows), header)
        }
        None => {
            let mut rows = NdjsonRows::new(input, detected.encoding, options.max_row_bytes);
            let header = rows.read_header()?;
            (Source::Ndjson(rows), header)
        }
    };
    let mapping = Mapping::new(header, &options.mapping, options.key, definitions)?;

    Ok(RowReader { source, mapping, rules, encoding: detected.encoding, delimiter, finished: false })
}

enum Source<R: Read> {
    Csv(CsvRows<R>),
    Ndjson(NdjsonRows<R>),
}

/// An iterator over the checked rows of a file, opened by [`read`].
///
/// It yields one [`RowOutcome`] per data row that contains any value, in file
/// order, and stops after the first [`ReadError`]. Memory stays bounded
/// by the longest row: one record or line buffer is reused, and nothing
/// accumulates per row.
pub struct RowReader<R: Read> {
    source: Source<R>,
    mapping: Mapping,
    rules: CellRules,
    encoding: TextEncoding,
    delimiter: Option<Delimiter>,
    finished: bool,
}

impl<R: Read> RowReader<R> {
    /// Returns the file's columns and their targets. For NDJSON, keys are added as
    /// lines introduce them, so the report is complete once the iterator
    /// has ended.
    pub fn mapping_report(&self) -> MappingReport {
        self.mapping.report()
    }

    /// Returns the encoding the file is read with.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Returns the CSV delimiter, declared or detected; `None` for NDJSON.
    pub fn delimiter(&self) -> Option<Delimiter> {
        self.delimiter
    }

    /// Returns the number of rows skipped so far because they contain no
    /// value: empty lines and rows whose cells are all empty.
    pub fn blank_rows(&self) -> u64 {
        match &self.source {
            Source::Csv(rows) => rows.blank_rows(),
            Source::Ndjson(rows) => rows.blank_rows(),
        }
    }

    /// Returns the bytes held by the reader's buffers and column list:
    /// everything the reader keeps that grows with row length or columns.
    pub fn retained_bytes(&self) -> usize {
        let source = match &self.source {
            Source::Csv(rows) => rows.retained_bytes(),
            Source::Ndjson(rows) => rows.retained_bytes(),
        };
        source + self.mapping.retained_bytes()
    }
}

impl<R: Read> Iterator for RowReader<R> {
    type Item = Result<RowOutcome, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }

        let next = match &mut self.source {
            Source::Csv(rows) => rows.next_row(&self.mapping, &self.rules),
            Source::Ndjson(rows) => rows.next_row(&mut self.mapping, &self.rules),
        };
        if matches!(next, None | Some(Err(_))) {
            self.finished = true;
        }
        next
    }
}
