//! Checked rows and rejects, and checking all cells of one row.

use super::cells::{check_cell, Cell, CellRules, CheckedCell};
use super::mapping::{MappedBy, Mapping};
use crate::custom::StoredValue;
use crate::standard_fields::{FieldValue, StandardField};
use crate::status::StatusChanges;

/// The outcome of one data row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    Row(ImportRow),
    Reject(Reject),
}

/// A row whose every cell passed its checks, in the form the writer
/// applies without parsing again. Empty cells are absent: they leave the
/// contact's stored values as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// Row number as a spreadsheet shows it (see [`super`]).
    pub row: u64,
    /// The normalised import key: an email trimmed and lowercased, a
    /// phone in E.164 or a customer id trimmed. The key's field is also in
    /// `standard` or `customer_id` with its stored form.
    pub key: String,
    /// Standard fields with their stored value and, for email and
    /// cellphone, their index key.
    pub standard: Vec<(StandardField, FieldValue)>,
    /// The shop's customer id, trimmed.
    pub customer_id: Option<String>,
    /// Custom field values under their storage name; `text` is never
    /// `None`, because an empty cell removes nothing.
    pub custom: Vec<StoredValue>,
    /// Status changes, as the admin API's `statuses` object gives them to
    /// [`crate::status::apply_changes`]. `not_subscribed` there fails for a
    /// contact that has a subscription record.
    pub statuses: StatusChanges,
    /// The email status column reads `bounced`: the importer records a
    /// hard bounce of the contact's email.
    pub email_bounced: bool,
}

/// A row that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Row number as a spreadsheet shows it.
    pub row: u64,
    /// The column at fault, or `None` when the row as a whole is.
    pub column: Option<String>,
    /// A reason for the shop's staff. It never contains the cell's value,
    /// so it can be logged and stored.
    pub reason: String,
}

impl Reject {
    pub fn new(row: u64, column: Option<&str>, reason: impl Into<String>) -> Reject {
        Reject { row, column: column.map(str::to_owned), reason: reason.into() }
    }
}

/// Checks the cells of row `row`, one per column of `mapping`. The key
/// is checked first, so a row with several faults reports its key.
pub fn check_row(row: u64, cells: &[Cell<'_>], mapping: &Mapping, rules: &CellRules) -> RowOutcome {
    let columns = mapping.columns();
    let key_column = mapping.key_column();
    let key_name = columns[key_column].name.as_str();

    if cells[key_column].is_empty() {
        let target = columns[key_column].target.as_ref().map(|target| target.name()).unwrap_or_default();
        let reason = format!("missing {target}; every row needs one, because it is the import key");
        return RowOutcome::Reject(Reject::new(row, Some(key_name), reason));
    }

    let mut checked = ImportRow {
        row,
        key: String::new(),
        standard: Vec::new(),
        customer_id: None,
        custom: Vec::new(),
        statuses: StatusChanges::default(),
        email_bounced: false,
    };
    let order = std::iter::once(key_column).chain((0..columns.len()).filter(|index| *index != key_column));
    for index in order {
        let column = &columns[index];
        let Some(target) = &column.target else {
            continue;
        };
        if column.mapped_by == MappedBy::Conflict {
            if cells[index].is_empty() {
                continue;
            }
            let other = mapping.filled_by(index).unwrap_or_default();
            let reason = format!(
                "this column maps to {target}, which column {other:?} already fills; map one of them to ignore"
            );
            return RowOutcome::Reject(Reject::new(row, Some(&column.name), reason));
        }

        let value = match check_cell(target, cells[index], rules) {
            Ok(value) => value,
            Err(reason) => return RowOutcome::Reject(Reject::new(row, Some(&column.name), reason)),
        };
        if index == key_column {
            checked.key = key_of(value.as_ref());
        }
        if let Some(value) = value {
            add(&mut checked, value);
        }
    }
    RowOutcome::Row(checked)
}

/// Returns the match key of the key column's checked value.
fn key_of(value: Option<&CheckedCell>) -> String {
    match value {
        Some(CheckedCell::Standard(_, value)) => value.index_key.clone().unwrap_or_default(),
        Some(CheckedCell::CustomerId(id)) => id.clone(),
        _ => String::new(),
    }
}

fn add(row: &mut ImportRow, value: CheckedCell) {
    match value {
        CheckedCell::Standard(field, value) => row.standard.push((field, value)),
        CheckedCell::CustomerId(id) => row.customer_id = Some(id),
        CheckedCell::Custom(value) => row.custom.push(value),
        CheckedCell::EmailBounced => row.email_bounced = true,
        CheckedCell::Status(changes) => {
            let statuses = &mut row.statuses;
            statuses.email = changes.email.or(statuses.email);
            statuses.newsletter = changes.newsletter.or(statuses.newsletter);
            statuses.cellphone = changes.cellphone.or(statuses.cellphone);
            statuses.sms = changes.sms.or(statuses.sms);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::date;

    use super::*;
    use crate::identity::PhoneCountry;
    use crate::status::{Hold, Subscription};
    use crate::transfer::options::KeyField;

    fn rules() -> CellRules {
        CellRules {
            country: PhoneCountry::parse("ES").expect("valid country"),
            today: date!(2026 - 12 - 04),
            date_format: None,
        }
    }

    fn mapping(names: &[&str], key: KeyField) -> Mapping {
        let header = names.iter().map(|name| (*name).to_owned()).collect();
        Mapping::new(header, &BTreeMap::new(), key, &[]).expect("valid mapping")
    }

    fn check(names: &[&str], key: KeyField, texts: &[&str]) -> RowOutcome {
        let cells: Vec<Cell<'_>> = texts.iter().map(|text| Cell::Text(text)).collect();
        check_row(7, &cells, &mapping(names, key), &rules())
    }

    #[test]
    fn row_collects_every_target() {
        let names = ["mobile", "email", "first_name", "customer_id", "newsletter", "email_status", "notes"];
        let texts = ["600 000 001", " Ana@Example.com ", "Ana", " C-1 ", "Subscribed", "paused", "ignored"];

        let RowOutcome::Row(row) = check(&names, KeyField::Cellphone, &texts) else { panic!("rejected") };

        assert_eq!(row.row, 7);
        assert_eq!(row.key, "+34600000001");
        let fields: Vec<StandardField> = row.standard.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, vec![StandardField::Cellphone, StandardField::Email, StandardField::FirstName]);
        assert_eq!(row.standard[1].1.stored, "Ana@Example.com");
        assert_eq!(row.customer_id.as_deref(), Some("C-1"));
        assert_eq!(row.statuses.newsletter, Some(Subscription::Subscribed));
        assert_eq!(row.statuses.email, Some(Some(Hold::Paused)));
        assert_eq!(row.statuses.sms, None);
        assert!(row.custom.is_empty());
    }

    #[test]
    fn key_is_normalised() {
        let RowOutcome::Row(row) = check(&["email"], KeyField::Email, &["  ana.garcia@example.com "]) else {
            panic!("rejected")
        };
        assert_eq!(row.key, "ana.garcia@example.com");

        let RowOutcome::Row(row) = check(&["customer_id"], KeyField::CustomerId, &[" c-42 "]) else {
            panic!("rejected")
        };
        assert_eq!(row.key, "c-42");
    }

    #[test]
    fn empty_key_is_rejected_naming_the_column() {
        let outcome = check(&["name", "E-mail"], KeyField::Email, &["Ana", " "]);

        let expected =
            Reject::new(7, Some("E-mail"), "missing email; every row needs one, because it is the import key");
        assert_eq!(outcome, RowOutcome::Reject(expected));
    }

    #[test]
    fn invalid_key_is_reported_before_other_faults() {
        let outcome = check(&["cellphone", "email"], KeyField::Email, &["12", "null"]);

        let RowOutcome::Reject(reject) = outcome else { panic!("accepted") };
        assert_eq!(reject.column.as_deref(), Some("email"));
        assert_eq!(reject.reason, "invalid email address");
    }

    #[test]
    fn invalid_cell_rejects_the_whole_row() {
        let outcome = check(&["email", "cellphone"], KeyField::Email, &["ana@example.com", "12"]);

        let RowOutcome::Reject(reject) = outcome else { panic!("accepted") };
        assert_eq!(reject.row, 7);
        assert_eq!(reject.column.as_deref(), Some("cellphone"));
        assert!(reject.reason.starts_with("invalid phone number"), "{}", reject.reason);
    }

    #[test]
    fn empty_cells_set_nothing() {
        let RowOutcome::Row(row) = check(&["email", "first_name", "cellphone"], KeyField::Email, &["a@b.es", "", "  "])
        else {
            panic!("rejected")
        };
        assert_eq!(row.standard.len(), 1);
    }

    #[test]
    fn conflicting_column_rejects_rows_that_use_it() {
        let mut mapping = mapping(&["email"], KeyField::Email);
        let conflict = mapping.add_column("E-mail".to_owned());
        let value = serde_json::json!("b@example.com");

        let mut cells = vec![Cell::Text("a@example.com"), Cell::Missing];
        let without = check_row(3, &cells, &mapping, &rules());
        cells[conflict] = Cell::Json(&value);
        let with = check_row(4, &cells, &mapping, &rules());

        assert!(matches!(without, RowOutcome::Row(_)));
        let RowOutcome::Reject(reject) = with else { panic!("accepted") };
        assert_eq!(reject.column.as_deref(), Some("E-mail"));
        assert!(reject.reason.contains("\"email\" already fills"), "{}", reject.reason);
    }
}
