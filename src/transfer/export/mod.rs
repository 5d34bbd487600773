//! Writing exports: contacts and activities to CSV or NDJSON, one row at a
//! time.
//!
//! [`ContactWriter`] writes one row per [`crate::store::ContactRecord`] and
//! [`ActivityWriter`] one row per [`crate::store::Activity`], to any
//! [`std::io::Write`]. Both are synchronous and never touch the store, so
//! the caller pages through contacts or timelines and hands each item
//! over. Memory does not grow with the number of rows: cells go through
//! reused buffers and the output buffer has a fixed capacity.
//!
//! A contacts export is also an import file. Its headers are the names an
//! import maps to the same fields ([`ContactColumn`]), and its values are
//! in the form that [`crate::transfer::read`] reads back to the same
//! stored values, in both formats and with any delimiter.
//!
//! CSV cells that a spreadsheet would run as a formula get a leading `'`,
//! which imports remove again (see [`crate::transfer::formula`]). NDJSON
//! is never altered.
//!
//! NOTE: an NDJSON export of no contacts is an empty file, which
//! [`crate::transfer::read`] rejects as empty. A CSV export of no contacts
//! has its header and imports as zero rows.

mod activities;
mod columns;
mod contacts;
mod options;
mod table;

#[cfg(test)]
mod tests;

use std::io;

pub use activities::ActivityWriter;
pub use columns::{ActivityColumn, ColumnError, ContactColumn};
pub use contacts::{ContactWriter, CUSTOMER_ID_FIELD};
pub use options::ExportOptions;
pub use table::OUTPUT_BUFFER_BYTES;

use crate::store::{ContactId, StoreError};

/// A failure of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Columns(#[from] ColumnError),
    #[error("writing the export failed")]
    Io(#[source] io::Error),
    #[error("writing the CSV export failed")]
    Csv(#[source] csv::Error),
    /// The contact was skipped, and the writer can go on with the next one.
    #[error("the status entries of contact {} do not decode; the contact was not written", contact_name(.contact))]
    Statuses {
        contact: Option<ContactId>,
        #[source]
        source: StoreError,
    },
}

fn contact_name(contact: &Option<ContactId>) -> String {
    contact.map_or_else(|| "without an id".to_owned(), |id| id.to_string())
}
