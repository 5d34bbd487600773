//! The options of one export: file format, CSV dialect and columns.

use crate::transfer::{Delimiter, FileFormat};

/// The options of one export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    pub format: FileFormat,
    /// The CSV delimiter. Ignored for NDJSON.
    pub delimiter: Delimiter,
    /// Whether a CSV file starts with a UTF-8 byte order mark, which makes
    /// Excel read it as UTF-8 instead of the system's code page. Ignored for
    /// NDJSON, because RFC 8259 forbids a byte order mark in JSON text.
    pub bom: bool,
    /// Column names in file order, or `None` for the default columns (see
    /// [`super::ContactColumn::defaults`] and
    /// [`super::ActivityColumn::ALL`]). Names match trimmed,
    /// case-insensitively and with spaces and dashes read as underscores,
    /// as import headers do.
    pub columns: Option<Vec<String>>,
}

impl ExportOptions {
    /// Creates options for the default columns, comma-separated CSV and no
    /// byte order mark.
    pub fn new(format: FileFormat) -> ExportOptions {
        ExportOptions { format, delimiter: Delimiter::Comma, bom: false, columns: None }
    }
}
