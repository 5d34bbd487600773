//! The columns of contact and activity exports, and the names that select
//! them.
//!
//! A contact column name means what an import maps it to (see
//! [`crate::transfer::mapping`]), so an exported file imports again
//! without an explicit mapping. Three read-only columns come on top:
//! `id`, `created_at` and `updated_at`. Imports report them as unknown
//! columns and never read them.

use crate::standard_fields::StandardField;
use crate::store::FieldDefinition;
use crate::transfer::mapping::{normalise_name, resolve_target, StatusColumn, Target};

const ID: &str = "id";
const CREATED_AT: &str = "created_at";
const UPDATED_AT: &str = "updated_at";

const CONTACT_COLUMNS: &str = "a standard field (email, first_name, last_name, date_of_birth, cellphone), \
                               customer_id, a status column (email_status, newsletter_status, cellphone_status, \
                               sms_status), a custom field name, id, created_at or updated_at";
const ACTIVITY_COLUMNS: &str = "contact_id, at, type, url, referrer or properties";

/// A column selection that cannot be exported. Messages name the column as
/// requested, which is never contact data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("unknown column {column:?}; expected {expected}")]
    Unknown { column: String, expected: &'static str },
    #[error("column {column:?} is selected more than once")]
    Repeated { column: String },
    #[error(
        "the column selection is empty; select at least one column, or leave out the selection for the default columns"
    )]
    Empty,
}

/// A column of a contacts export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactColumn {
    /// A field that an import fills again from the column's cells.
    Field(Target),
    /// The contact id.
    Id,
    /// The contact's creation time, RFC 3339 in UTC.
    CreatedAt,
    /// The time of the contact's last change, RFC 3339 in UTC.
    UpdatedAt,
}

impl ContactColumn {
    /// Returns the column's name, which is also its header.
    pub fn name(&self) -> &str {
        match self {
            ContactColumn::Field(target) => target.name(),
            ContactColumn::Id => ID,
            ContactColumn::CreatedAt => CREATED_AT,
            ContactColumn::UpdatedAt => UPDATED_AT,
        }
    }

    /// Returns the default columns: `id`, the standard fields,
    /// `customer_id`, the status columns, every custom field in the order
    /// of `definitions`, then `created_at` and `updated_at`.
    ///
    /// Two kinds of column are left out because an import would map their
    /// header to another field. One is a custom field named `customer_id`
    /// or like a status column. The other is a read-only column whose name
    /// a custom field takes.
    pub fn defaults(definitions: &[FieldDefinition]) -> Vec<ContactColumn> {
        let read_only = |column: ContactColumn| resolve_target(column.name(), definitions).is_none().then_some(column);

        let standard = StandardField::ALL.into_iter().map(Target::Standard);
        let statuses = StatusColumn::ALL.into_iter().map(Target::Status);
        let custom = definitions
            .iter()
            .filter(|definition| {
                let target = resolve_target(&definition.name, definitions);
                matches!(target, Some(Target::Custom(found)) if found.id == definition.id)
            })
            .map(|definition| Target::Custom(definition.clone()));
        let fields = standard.chain([Target::CustomerId]).chain(statuses).chain(custom).map(ContactColumn::Field);

        read_only(ContactColumn::Id)
            .into_iter()
            .chain(fields)
            .chain(read_only(ContactColumn::CreatedAt))
            .chain(read_only(ContactColumn::UpdatedAt))
            .collect()
    }

    /// Returns the columns that `names` select, in their order, or the
    /// default columns for `None`.
    pub fn select(
        names: Option<&[String]>,
        definitions: &[FieldDefinition],
    ) -> Result<Vec<ContactColumn>, ColumnError> {
        let Some(names) = names else {
            return Ok(ContactColumn::defaults(definitions));
        };

        select(names, CONTACT_COLUMNS, |name| {
            if let Some(target) = resolve_target(name, definitions) {
                return Some(ContactColumn::Field(target));
            }
            [ContactColumn::Id, ContactColumn::CreatedAt, ContactColumn::UpdatedAt]
                .into_iter()
                .find(|column| column.name() == name)
        })
    }
}

/// A column of an activities export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivityColumn {
    /// The id of the contact whose timeline contains the activity.
    ContactId,
    /// The time of the activity, RFC 3339 in UTC.
    At,
    /// The activity type, such as `product_visit`.
    Type,
    /// Path and query of the request.
    Url,
    Referrer,
    /// The type-specific details, as a JSON object of strings.
    Properties,
}

impl ActivityColumn {
    /// Every column, in the default order.
    pub const ALL: [ActivityColumn; 6] = [
        ActivityColumn::ContactId,
        ActivityColumn::At,
        ActivityColumn::Type,
        ActivityColumn::Url,
        ActivityColumn::Referrer,
        ActivityColumn::Properties,
    ];

    /// Returns the column's name, which is also its header. The names other
    /// than `contact_id` are those of the admin API's timeline.
    pub fn name(self) -> &'static str {
        match self {
            ActivityColumn::ContactId => "contact_id",
            ActivityColumn::At => "at",
            ActivityColumn::Type => "type",
            ActivityColumn::Url => "url",
            ActivityColumn::Referrer => "referrer",
            ActivityColumn::Properties => "properties",
        }
    }

    /// Returns the columns that `names` select, in their order, or every
    /// column for `None`.
    pub fn select(names: Option<&[String]>) -> Result<Vec<ActivityColumn>, ColumnError> {
        let Some(names) = names else {
            return Ok(ActivityColumn::ALL.to_vec());
        };

        select(names, ACTIVITY_COLUMNS, |name| ActivityColumn::ALL.into_iter().find(|column| column.name() == name))
    }
}

/// Resolves each of `names`, normalised, with `resolve`. `expected` lists
/// the accepted names for the error.
fn select<C: PartialEq>(
    names: &[String],
    expected: &'static str,
    resolve: impl Fn(&str) -> Option<C>,
) -> Result<Vec<C>, ColumnError> {
    if names.is_empty() {
        return Err(ColumnError::Empty);
    }

    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let column =
            resolve(&normalise_name(name)).ok_or_else(|| ColumnError::Unknown { column: name.clone(), expected })?;
        if columns.contains(&column) {
            return Err(ColumnError::Repeated { column: name.clone() });
        }
        columns.push(column);
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FieldType;

    fn definition(name: &str) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::now_v7(),
            name: name.to_owned(),
            label: name.to_owned(),
            kind: FieldType::Text,
            options: Vec::new(),
            default: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn names(columns: &[ContactColumn]) -> Vec<&str> {
        columns.iter().map(ContactColumn::name).collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn defaults_list_every_column() {
        let definitions = [definition("city"), definition("shoe_size")];

        let columns = ContactColumn::defaults(&definitions);

        assert_eq!(
            names(&columns),
            vec![
                "id",
                "email",
                "first_name",
                "last_name",
                "date_of_birth",
                "cellphone",
                "customer_id",
                "email_status",
                "newsletter_status",
                "cellphone_status",
                "sms_status",
                "city",
                "shoe_size",
                "created_at",
                "updated_at",
            ]
        );
        assert_eq!(columns[11], ContactColumn::Field(Target::Custom(definitions[0].clone())));
    }

    #[test]
    fn defaults_leave_out_names_an_import_maps_elsewhere() {
        let definitions = [definition("id"), definition("sms_status"), definition("customer_id")];

        let columns = ContactColumn::defaults(&definitions);

        assert!(!columns.contains(&ContactColumn::Id), "the custom field `id` takes the header");
        assert!(columns.contains(&ContactColumn::Field(Target::Custom(definitions[0].clone()))));
        assert_eq!(names(&columns).iter().filter(|name| **name == "sms_status").count(), 1);
        assert_eq!(names(&columns).iter().filter(|name| **name == "customer_id").count(), 1);
        assert!(columns.contains(&ContactColumn::Field(Target::Status(StatusColumn::Sms))));
        assert!(columns.contains(&ContactColumn::Field(Target::CustomerId)));
    }

    #[test]
    fn selection_keeps_order_and_normalises_names() {
        let definitions = [definition("city")];
        let requested = strings(&["City", " EMAIL ", "updated at", "Newsletter-Status", "id"]);

        let columns = ContactColumn::select(Some(&requested), &definitions).expect("valid selection");

        assert_eq!(
            columns,
            vec![
                ContactColumn::Field(Target::Custom(definitions[0].clone())),
                ContactColumn::Field(Target::Standard(StandardField::Email)),
                ContactColumn::UpdatedAt,
                ContactColumn::Field(Target::Status(StatusColumn::Newsletter)),
                ContactColumn::Id,
            ]
        );
    }

    #[test]
    fn no_selection_means_defaults() {
        let definitions = [definition("city")];

        let columns = ContactColumn::select(None, &definitions).expect("defaults");

        assert_eq!(columns, ContactColumn::defaults(&definitions));
        assert_eq!(ActivityColumn::select(None), Ok(ActivityColumn::ALL.to_vec()));
    }

    #[test]
    fn unknown_column_is_named() {
        let error = ContactColumn::select(Some(&strings(&["email", "Loyalty tier"])), &[]).expect_err("unknown");

        assert_eq!(error, ColumnError::Unknown { column: "Loyalty tier".to_owned(), expected: CONTACT_COLUMNS });
        assert!(error.to_string().starts_with("unknown column \"Loyalty tier\"; expected a standard field"), "{error}");
    }

    #[test]
    fn aliases_are_not_column_names() {
        let error = ContactColumn::select(Some(&strings(&["mobile"])), &[]).expect_err("an alias");

        assert!(matches!(error, ColumnError::Unknown { ref column, .. } if column == "mobile"), "{error:?}");
    }

    #[test]
    fn repeated_and_empty_selections_fail() {
        let repeated = ContactColumn::select(Some(&strings(&["email", "EMAIL"])), &[]);
        let empty = ContactColumn::select(Some(&[]), &[]);
        let activity = ActivityColumn::select(Some(&strings(&["at", "At"])));

        assert_eq!(repeated, Err(ColumnError::Repeated { column: "EMAIL".to_owned() }));
        assert_eq!(empty, Err(ColumnError::Empty));
        assert_eq!(activity, Err(ColumnError::Repeated { column: "At".to_owned() }));
    }

    #[test]
    fn activity_columns_are_selected_by_name() {
        let columns = ActivityColumn::select(Some(&strings(&["Type", "contact-id"]))).expect("valid");
        let error = ActivityColumn::select(Some(&strings(&["cursor"]))).expect_err("unknown");

        assert_eq!(columns, vec![ActivityColumn::Type, ActivityColumn::ContactId]);
        assert_eq!(
            error.to_string(),
            "unknown column \"cursor\"; expected contact_id, at, type, url, referrer or properties"
        );
    }
}
