//! Writing activities, one row each.

use std::borrow::Cow;
use std::io::Write;

use super::table::{time_cell, CellValue, TableWriter};
use super::{ActivityColumn, ExportError, ExportOptions};
use crate::store::{Activity, ContactId};

/// A writer of activities to CSV or NDJSON, one row per activity.
///
/// The columns are those of [`ActivityColumn`]. The properties are a JSON
/// object of strings, written as an object in NDJSON and as its JSON text
/// in a CSV cell. A missing referrer is an empty cell, `null` in NDJSON.
/// CSV cells are neutralised as contact cells are (see
/// [`crate::transfer::formula`]).
///
/// Memory does not grow with the number of activities, as for
/// [`super::ContactWriter`].
pub struct ActivityWriter<W: Write> {
    table: TableWriter<W>,
    columns: Vec<ActivityColumn>,
}

impl<W: Write> ActivityWriter<W> {
    /// Creates the writer for `options`' columns and writes the byte order
    /// mark and the header of a CSV file.
    pub fn new(output: W, options: &ExportOptions) -> Result<ActivityWriter<W>, ExportError> {
        let columns = ActivityColumn::select(options.columns.as_deref())?;
        let names: Vec<&str> = columns.iter().map(|column| column.name()).collect();
        let table = TableWriter::new(output, options, &names)?;
        Ok(ActivityWriter { table, columns })
    }

    /// Returns the columns in file order.
    pub fn columns(&self) -> &[ActivityColumn] {
        &self.columns
    }

    /// Writes one activity of the timeline of `contact`. For a
    /// [`crate::store::StoredActivity`], pass its `activity`. After an error
    /// the file is incomplete.
    pub fn write(&mut self, contact: ContactId, activity: &Activity) -> Result<(), ExportError> {
        let columns = &self.columns;
        self.table.write_row(|index| cell(columns[index], contact, activity))
    }

    /// Returns the number of activities written.
    pub fn rows_written(&self) -> u64 {
        self.table.rows_written()
    }

    /// Returns the bytes held by the writer's buffers: everything it keeps
    /// that grows with row length.
    pub fn retained_bytes(&self) -> usize {
        self.table.retained_bytes()
    }

    /// Writes the buffered output to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.table.flush()
    }

    /// Flushes the output and returns the underlying writer.
    pub fn finish(self) -> Result<W, ExportError> {
        self.table.finish()
    }
}

fn cell(column: ActivityColumn, contact: ContactId, activity: &Activity) -> CellValue<'_> {
    match column {
        ActivityColumn::ContactId => CellValue::Text(Cow::Owned(contact.to_string())),
        ActivityColumn::At => time_cell(activity.at),
        ActivityColumn::Type => CellValue::Text(Cow::Borrowed(activity.kind.as_str())),
        ActivityColumn::Url => CellValue::Text(Cow::Borrowed(&activity.url)),
        ActivityColumn::Referrer => match &activity.referrer {
            Some(referrer) => CellValue::Text(Cow::Borrowed(referrer)),
            None => CellValue::Empty,
        },
        ActivityColumn::Properties => CellValue::Object(&activity.properties),
    }
}
