//! Contact imports and exports.
//!
//! Reading an import file: [`read`] streams the rows of a CSV or NDJSON
//! file and turns each into checked contact values or a reject, without
//! touching the store.
//!
//! It takes any [`std::io::Read`] and [`ImportOptions`] in four steps:
//!
//! 1. **Encoding** ([`encoding`]): a UTF-8 byte order mark means UTF-8 and
//!    is skipped. Otherwise the declared encoding is used, or, for `auto`,
//!    the first 64 KiB decide between UTF-8 and Windows-1252.
//! 2. **Dialect** ([`dialect`]): the CSV delimiter (comma, semicolon, tab
//!    or pipe) is declared or detected from the header line.
//! 3. **Header and mapping** ([`mapping`]): header names map to standard
//!    fields, `customer_id`, status columns and custom fields. Errors in
//!    the mapping stop the import before any row is read.
//! 4. **Rows** ([`RowReader`]): each row is decoded, and its cells are
//!    checked by the same validators as the admin API ([`cells`]). A row
//!    becomes an [`ImportRow`] or a [`Reject`] naming the row, the column
//!    and the reason.
//!
//! Row numbers are those a spreadsheet shows: the header is row 1 and the
//! first data row is row 2. A record whose quoted cells span several lines
//! is one row, and empty lines count as rows, as a spreadsheet shows
//! them. In NDJSON the row number is the line number.
//!
//! Memory is bounded by the longest row, never the file: records are
//! streamed through one reused buffer, and a row longer than
//! [`ImportOptions::max_row_bytes`] is refused without being buffered.
//!
//! Writing an export: [`export::ContactWriter`] and
//! [`export::ActivityWriter`] write contacts and activities as CSV or
//! NDJSON, one row at a time. A contacts export imports again without an
//! explicit mapping. CSV cells that a spreadsheet would run as a formula
//! are neutralised on export and restored on import ([`formula`]).
//!
//! Applying an import: [`import::Importer`] writes checked rows to the
//! store by the import key and mode, and [`jobs`] runs a whole uploaded
//! file in the background, with progress in the history and a reject
//! report. [`export_job`] writes an export file in the background in the
//! same way. [`sweep`] deletes the files of jobs that ended longer than
//! the retention ago.

pub mod cells;
mod csv_rows;
pub mod dialect;
pub mod encoding;
pub mod export;
pub mod export_job;
pub mod formula;
pub mod import;
mod input;
pub mod jobs;
pub mod mapping;
mod ndjson_rows;
mod options;
mod reader;
mod row;
pub mod sweep;

#[cfg(test)]
mod tests;

pub use encoding::TextEncoding;
pub use export::{ActivityWriter, ContactWriter, ExportError, ExportOptions};
pub use mapping::{ColumnReport, MappedBy, MappingError, MappingReport, StatusColumn, Target};
pub use ndjson_rows::MAX_NDJSON_COLUMNS;
pub use options::{Delimiter, EncodingChoice, FileFormat, ImportOptions, KeyField, DEFAULT_MAX_ROW_BYTES};
pub use reader::{read, OpenError, ReadError, RowReader};
pub use row::{ImportRow, Reject, RowOutcome};
