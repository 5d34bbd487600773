//! Writing contacts, one row each, in the form imports read back.

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value;

use super::table::{time_cell, CellValue, TableWriter};
use super::{ContactColumn, ExportError, ExportOptions};
use crate::custom;
use crate::status::{self, ChannelStatus, Statuses, Subscription};
use crate::store::{ContactRecord, FieldDefinition};
use crate::transfer::mapping::{StatusColumn, Target};

/// The profile field that the `customer_id` column reads, where imports
/// store it.
///
/// NOTE: a customer id that a plugin identified the contact by is kept in
/// the unique index only, so the column is empty for such a contact.
pub const CUSTOMER_ID_FIELD: &str = crate::transfer::import::CUSTOMER_ID_FIELD;

/// The source of a column's value, prepared once per export.
enum Source {
    Id,
    CreatedAt,
    UpdatedAt,
    /// A standard field or the customer id, by profile field name.
    Profile(&'static str),
    Status(StatusColumn),
    Custom {
        definition: FieldDefinition,
        /// The definition's storage name, computed once instead of per row.
        storage_name: String,
    },
}

/// A writer of contacts to CSV or NDJSON, one row per contact.
///
/// Each value is written in the form that [`crate::transfer::read`] reads
/// back to the same stored value:
///
/// - Standard fields and the customer id as stored: the email as typed,
///   the cellphone in E.164, the date of birth as `YYYY-MM-DD`.
/// - Custom fields as [`custom::render`] shows them: typed JSON values in
///   NDJSON. In CSV, multiple choices are joined with `|`, and numbers and
///   booleans are their JSON text. Fields without a stored value are
///   empty: a definition's default is not written, because importing it
///   would store it. A stored choice that is no longer one of the field's
///   options is written as stored, and an import rejects that row. A CSV
///   import also splits an option that contains `|` into its parts, which
///   rejects the row or, when the parts are options too, stores the wrong
///   choices.
/// - Statuses with the values the admin API shows. Importing the file
///   again leaves each status as it is: an email status of `bounced`
///   imports as no change, so the bounce stays, and `not_subscribed`
///   changes nothing for a contact without a subscription record.
///
/// NOTE: importing an older export sets each status back to its value at
/// export time. An email status of `active` also lifts a bounce reported
/// since, as a staff edit does, and `not_subscribed` fails for a contact
/// that has subscribed since.
///
/// Memory does not grow with the number of contacts: cells go through
/// reused buffers (see [`ContactWriter::retained_bytes`]) and the output
/// buffer has a fixed capacity.
pub struct ContactWriter<W: Write> {
    table: TableWriter<W>,
    columns: Vec<ContactColumn>,
    sources: Vec<Source>,
    /// Whether any column shows a status, so statuses are decoded only then.
    reads_statuses: bool,
}

impl<W: Write> ContactWriter<W> {
    /// Creates the writer for `options`' columns of `definitions`' fields,
    /// and writes the byte order mark and the header of a CSV file.
    pub fn new(
        output: W,
        options: &ExportOptions,
        definitions: &[FieldDefinition],
    ) -> Result<ContactWriter<W>, ExportError> {
        let columns = ContactColumn::select(options.columns.as_deref(), definitions)?;
        let names: Vec<&str> = columns.iter().map(ContactColumn::name).collect();
        let table = TableWriter::new(output, options, &names)?;

        let sources: Vec<Source> = columns.iter().map(Source::of).collect();
        let reads_statuses = sources.iter().any(|source| matches!(source, Source::Status(_)));
        Ok(ContactWriter { table, columns, sources, reads_statuses })
    }

    /// Returns the columns in file order.
    pub fn columns(&self) -> &[ContactColumn] {
        &self.columns
    }

    /// Writes one contact.
    ///
    /// A contact whose status entries do not decode is an
    /// [`ExportError::Statuses`]: nothing of it is written, and the writer
    /// can go on with the next contact. After any other error the file is
    /// incomplete.
    pub fn write(&mut self, record: &ContactRecord) -> Result<(), ExportError> {
        let statuses = if self.reads_statuses { Some(StatusCells::of(record)?) } else { None };

        let sources = &self.sources;
        self.table.write_row(|index| sources[index].cell(record, statuses.as_ref()))
    }

    /// Returns the number of contacts written.
    pub fn rows_written(&self) -> u64 {
        self.table.rows_written()
    }

    /// Returns the bytes held by the writer's buffers: everything it keeps
    /// that grows with row length. It grows only when a cell is longer than
    /// any before it in its column, never with the number of rows.
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

impl Source {
    fn of(column: &ContactColumn) -> Source {
        match column {
            ContactColumn::Id => Source::Id,
            ContactColumn::CreatedAt => Source::CreatedAt,
            ContactColumn::UpdatedAt => Source::UpdatedAt,
            ContactColumn::Field(Target::Standard(field)) => Source::Profile(field.name()),
            ContactColumn::Field(Target::CustomerId) => Source::Profile(CUSTOMER_ID_FIELD),
            ContactColumn::Field(Target::Status(status)) => Source::Status(*status),
            ContactColumn::Field(Target::Custom(definition)) => {
                Source::Custom { definition: definition.clone(), storage_name: definition.storage_name() }
            }
        }
    }

    fn cell<'a>(&self, record: &'a ContactRecord, statuses: Option<&StatusCells>) -> CellValue<'a> {
        match self {
            Source::Id => match record.id {
                Some(id) => CellValue::Text(Cow::Owned(id.to_string())),
                None => CellValue::Empty,
            },
            Source::CreatedAt => time_cell(record.created_at),
            Source::UpdatedAt => time_cell(record.updated_at),
            Source::Profile(name) => match stored(record, name) {
                Some(text) => CellValue::Text(Cow::Borrowed(text)),
                None => CellValue::Empty,
            },
            Source::Status(column) => match statuses {
                Some(statuses) => CellValue::Text(Cow::Borrowed(statuses.value(*column))),
                None => CellValue::Empty,
            },
            Source::Custom { definition, storage_name } => match stored(record, storage_name) {
                Some(text) => match custom::render(definition, text) {
                    Value::String(text) => CellValue::Text(Cow::Owned(text)),
                    typed => CellValue::Json(typed),
                },
                None => CellValue::Empty,
            },
        }
    }
}

/// Returns the stored value of profile field `name`, `None` when it is
/// absent or empty.
fn stored<'a>(record: &'a ContactRecord, name: &str) -> Option<&'a str> {
    record.fields.get(name).map(String::as_str).filter(|text| !text.is_empty())
}

/// The statuses of one contact as the status columns show them.
struct StatusCells {
    email: ChannelStatus,
    newsletter: Subscription,
    cellphone: ChannelStatus,
    sms: Subscription,
}

impl StatusCells {
    fn of(record: &ContactRecord) -> Result<StatusCells, ExportError> {
        let statuses = Statuses::of(record).map_err(|source| ExportError::Statuses { contact: record.id, source })?;
        let address = status::current_address(record);

        Ok(StatusCells {
            email: statuses.email_status(address.as_deref()),
            newsletter: status::status_of(statuses.newsletter.as_ref()),
            cellphone: statuses.cellphone_hold.into(),
            sms: status::status_of(statuses.sms.as_ref()),
        })
    }

    fn value(&self, column: StatusColumn) -> &'static str {
        match column {
            StatusColumn::Email => self.email.as_str(),
            StatusColumn::Newsletter => self.newsletter.as_str(),
            StatusColumn::Cellphone => self.cellphone.as_str(),
            StatusColumn::Sms => self.sms.as_str(),
        }
    }
}
