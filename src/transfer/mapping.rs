//! Column mapping: which contact field each column of the file fills.
//!
//! Column names are compared normalised: trimmed, lowercased, and with
//! each run of spaces, dashes and underscores read as one underscore, so
//! `E-mail`, `e mail` and `E_MAIL` are the same name. A column maps to:
//!
//! 1. its entry in the explicit mapping of [`ImportOptions::mapping`], a
//!    target name or `ignore`;
//! 2. otherwise a target of that name: a standard field (`email`,
//!    `first_name`, `last_name`, `date_of_birth`, `cellphone`),
//!    `customer_id` or a status column (below);
//! 3. otherwise the custom field definition of that name;
//! 4. otherwise one of the aliases below. Custom fields come first, so a
//!    custom field called `phone` takes the column `phone`.
//!
//! | aliases | target |
//! |---|---|
//! | `e_mail`, `mail`, `email_address`, `e_mail_address` | `email` |
//! | `mobile`, `mobile_phone`, `mobile_number`, `cell`, `cell_phone`, `phone`, `phone_number` | `cellphone` |
//! | `firstname`, `given_name`, `forename` | `first_name` |
//! | `lastname`, `surname`, `family_name` | `last_name` |
//! | `birthday`, `birth_date`, `birthdate`, `dob` | `date_of_birth` |
//! | `customer_number`, `customerid` | `customer_id` |
//! | `newsletter` | `newsletter_status` |
//! | `sms` | `sms_status` |
//!
//! The status columns are `email_status`, `newsletter_status`,
//! `cellphone_status` and `sms_status`. They take the values of the admin
//! API's `statuses` object (see [`crate::status::StatusChanges`]) under
//! names of their own, because `email` and `cellphone` already name the
//! contact fields. The email status also accepts `bounced`, which records
//! a hard bounce, so that exported files import again without losing
//! bounces (see [`super::cells`]).
//!
//! Columns that map to nothing are listed in the [`MappingReport`], never
//! dropped silently. A mapping that cannot work is a [`MappingError`]
//! before any row is read: two columns for one target, an explicit mapping
//! that names a missing column or an unknown target, or no column for the
//! import key.
//!
//! NOTE: a custom field named `customer_id` or like a status column can't
//! be imported, because those names always mean the built-in targets.
//!
//! [`ImportOptions::mapping`]: super::ImportOptions::mapping

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::options::KeyField;
use crate::standard_fields::StandardField;
use crate::store::FieldDefinition;

/// The explicit mapping target that skips a column.
pub const IGNORE: &str = "ignore";

/// The target name of the shop's customer id.
pub const CUSTOMER_ID: &str = "customer_id";

/// Aliases, normalised, and the target name each stands for.
const ALIASES: &[(&str, &str)] = &[
    ("e_mail", "email"),
    ("mail", "email"),
    ("email_address", "email"),
    ("e_mail_address", "email"),
    ("mobile", "cellphone"),
    ("mobile_phone", "cellphone"),
    ("mobile_number", "cellphone"),
    ("cell", "cellphone"),
    ("cell_phone", "cellphone"),
    ("phone", "cellphone"),
    ("phone_number", "cellphone"),
    ("firstname", "first_name"),
    ("given_name", "first_name"),
    ("forename", "first_name"),
    ("lastname", "last_name"),
    ("surname", "last_name"),
    ("family_name", "last_name"),
    ("birthday", "date_of_birth"),
    ("birth_date", "date_of_birth"),
    ("birthdate", "date_of_birth"),
    ("dob", "date_of_birth"),
    ("customer_number", "customer_id"),
    ("customerid", "customer_id"),
    ("newsletter", "newsletter_status"),
    ("sms", "sms_status"),
];

/// The field a column fills: a standard field, the customer id, a status
/// column or a custom field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Standard(StandardField),
    /// The shop's own customer id, a unique index of its own.
    CustomerId,
    Status(StatusColumn),
    Custom(FieldDefinition),
}

impl Target {
    /// Returns the target's name, as an explicit mapping writes it.
    pub fn name(&self) -> &str {
        match self {
            Target::Standard(field) => field.name(),
            Target::CustomerId => CUSTOMER_ID,
            Target::Status(status) => status.name(),
            Target::Custom(definition) => &definition.name,
        }
    }

    /// Returns the target of the import key's column.
    pub fn of_key(key: KeyField) -> Target {
        match key {
            KeyField::Email => Target::Standard(StandardField::Email),
            KeyField::Cellphone => Target::Standard(StandardField::Cellphone),
            KeyField::CustomerId => Target::CustomerId,
        }
    }

    /// Two targets are the same field; custom fields compare by id.
    fn same_field(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Custom(mine), Target::Custom(theirs)) => mine.id == theirs.id,
            _ => self == other,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A status column and the member of the admin API's `statuses` object
/// whose values it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusColumn {
    Email,
    Newsletter,
    Cellphone,
    Sms,
}

impl StatusColumn {
    pub const ALL: [StatusColumn; 4] =
        [StatusColumn::Email, StatusColumn::Newsletter, StatusColumn::Cellphone, StatusColumn::Sms];

    /// Returns the column's target name.
    pub fn name(self) -> &'static str {
        match self {
            StatusColumn::Email => "email_status",
            StatusColumn::Newsletter => "newsletter_status",
            StatusColumn::Cellphone => "cellphone_status",
            StatusColumn::Sms => "sms_status",
        }
    }

    /// Returns the member of the `statuses` object.
    pub fn member(self) -> &'static str {
        match self {
            StatusColumn::Email => "email",
            StatusColumn::Newsletter => "newsletter",
            StatusColumn::Cellphone => "cellphone",
            StatusColumn::Sms => "sms",
        }
    }
}

/// The rule that gave a column its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappedBy {
    /// The header is the target's name.
    Name,
    /// The header is an alias of the target.
    Alias,
    /// The explicit mapping names the target.
    Explicit,
    /// The explicit mapping maps the column to `ignore`.
    Ignored,
    /// Nothing matches the header; the column's cells are not read.
    Unknown,
    /// An NDJSON key first seen after the first line maps to a target that
    /// another column already fills. Rows with a value under it are
    /// rejected.
    Conflict,
}

/// One column of the file and what it fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnReport {
    /// 1-based position: in the header for CSV. For NDJSON, keys are in
    /// order of first appearance, and the keys that one line introduces
    /// are in alphabetical order, as `serde_json` gives them.
    pub position: usize,
    /// The header as written in the file, trimmed.
    pub name: String,
    /// The target's name, `None` for unknown and ignored columns.
    pub target: Option<String>,
    pub mapped_by: MappedBy,
}

/// Every column of the file and its target, for the import's history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MappingReport {
    pub columns: Vec<ColumnReport>,
}

impl MappingReport {
    /// Names of the columns that map to nothing.
    pub fn unknown_columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().filter(|column| column.mapped_by == MappedBy::Unknown).map(|column| column.name.as_str())
    }
}

/// A mapping that cannot be used, found before any row is read. Messages
/// name columns and targets, never cell values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("columns {first:?} and {second:?} both map to {target}; map one of them to another target or to ignore")]
    DuplicateTarget { target: String, first: String, second: String },
    #[error("the mapping names column {column:?}, which the file does not have")]
    MissingColumn { column: String },
    #[error("the mapping names column {column:?}, which matches {count} columns of the file; give the columns distinct names")]
    AmbiguousColumn { column: String, count: usize },
    #[error("the mapping names column {column:?} more than once")]
    RepeatedColumn { column: String },
    #[error(
        "unknown target {target:?} for column {column:?}; expected a standard field (email, first_name, last_name, \
         date_of_birth, cellphone), customer_id, a status column (email_status, newsletter_status, \
         cellphone_status, sms_status), a custom field name or ignore"
    )]
    UnknownTarget { column: String, target: String },
    #[error(
        "no column maps to {key}, the import key; add a column named {key} or map one to it, and check that the file is CSV or NDJSON text"
    )]
    MissingKeyColumn { key: KeyField },
}

impl MappingError {
    /// Returns the column the error is about, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            MappingError::DuplicateTarget { second: column, .. }
            | MappingError::MissingColumn { column }
            | MappingError::AmbiguousColumn { column, .. }
            | MappingError::RepeatedColumn { column }
            | MappingError::UnknownTarget { column, .. } => Some(column),
            MappingError::MissingKeyColumn { .. } => None,
        }
    }
}

/// Normalises a column, target or status name for comparison.
pub fn normalise_name(raw: &str) -> String {
    let mut name = String::with_capacity(raw.len());
    let mut separator = false;
    for ch in raw.trim().chars() {
        if ch.is_whitespace() || ch == '-' || ch == '_' {
            separator = true;
            continue;
        }
        if separator && !name.is_empty() {
            name.push('_');
        }
        separator = false;
        name.extend(ch.to_lowercase());
    }
    name
}

/// One column and its target.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// `None` for ignored and unknown columns.
    pub target: Option<Target>,
    pub mapped_by: MappedBy,
}

/// The checked mapping of a file's columns.
#[derive(Clone, Debug)]
pub struct Mapping {
    columns: Vec<Column>,
    /// Explicit mapping by normalised column name; `None` is `ignore`.
    explicit: BTreeMap<String, Option<Target>>,
    definitions: Vec<FieldDefinition>,
    key_column: usize,
}

impl Mapping {
    /// Maps the columns of `header` and checks the result.
    pub fn new(
        header: Vec<String>,
        explicit: &BTreeMap<String, String>,
        key: KeyField,
        definitions: &[FieldDefinition],
    ) -> Result<Mapping, MappingError> {
        let explicit = resolve_explicit(explicit, definitions)?;
        let mut mapping = Mapping { columns: Vec::new(), explicit, definitions: definitions.to_vec(), key_column: 0 };

        for name in header {
            let (target, mapped_by) = mapping.target_of(&name);
            mapping.columns.push(Column { name, target, mapped_by });
        }

        mapping.check_explicit_columns()?;
        mapping.check_duplicate_targets()?;

        let key_target = Target::of_key(key);
        mapping.key_column = mapping
            .columns
            .iter()
            .position(|column| column.target.as_ref().is_some_and(|target| target.same_field(&key_target)))
            .ok_or(MappingError::MissingKeyColumn { key })?;
        Ok(mapping)
    }

    /// Adds a column first seen after the header (an NDJSON key) and
    /// returns its index. A target another column already fills makes it
    /// a [`MappedBy::Conflict`] column.
    pub fn add_column(&mut self, name: String) -> usize {
        let (target, mut mapped_by) = self.target_of(&name);
        if let Some(target) = &target {
            let already_filled = self.columns.iter().any(|column| {
                column.mapped_by != MappedBy::Conflict
                    && column.target.as_ref().is_some_and(|other| other.same_field(target))
            });
            if already_filled {
                mapped_by = MappedBy::Conflict;
            }
        }

        self.columns.push(Column { name, target, mapped_by });
        self.columns.len() - 1
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Returns the index of the import key's column.
    pub fn key_column(&self) -> usize {
        self.key_column
    }

    /// Returns the name of the first column other than `column` that maps
    /// to the same target.
    pub fn filled_by(&self, column: usize) -> Option<&str> {
        let target = self.columns[column].target.as_ref()?;
        self.columns
            .iter()
            .enumerate()
            .find(|(index, other)| {
                *index != column
                    && other.mapped_by != MappedBy::Conflict
                    && other.target.as_ref().is_some_and(|other| other.same_field(target))
            })
            .map(|(_, other)| other.name.as_str())
    }

    pub fn report(&self) -> MappingReport {
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| ColumnReport {
                position: index + 1,
                name: column.name.clone(),
                target: column.target.as_ref().map(|target| target.name().to_owned()),
                mapped_by: column.mapped_by,
            })
            .collect();
        MappingReport { columns }
    }

    /// Returns the approximate bytes held by the column list, which grows
    /// with each new NDJSON key.
    pub fn retained_bytes(&self) -> usize {
        self.columns.capacity() * std::mem::size_of::<Column>()
            + self.columns.iter().map(|column| column.name.capacity()).sum::<usize>()
    }

    fn target_of(&self, name: &str) -> (Option<Target>, MappedBy) {
        let normalised = normalise_name(name);
        if let Some(explicit) = self.explicit.get(&normalised) {
            return match explicit {
                Some(target) => (Some(target.clone()), MappedBy::Explicit),
                None => (None, MappedBy::Ignored),
            };
        }
        if let Some(target) = resolve_target(&normalised, &self.definitions) {
            return (Some(target), MappedBy::Name);
        }

        let alias = ALIASES.iter().find(|(alias, _)| *alias == normalised);
        match alias.and_then(|(_, target)| resolve_target(target, &self.definitions)) {
            Some(target) => (Some(target), MappedBy::Alias),
            None => (None, MappedBy::Unknown),
        }
    }

    /// Checks that each explicit mapping entry names exactly one column.
    fn check_explicit_columns(&self) -> Result<(), MappingError> {
        for column in self.explicit.keys() {
            let count = self.columns.iter().filter(|candidate| normalise_name(&candidate.name) == *column).count();
            match count {
                1 => {}
                0 => return Err(MappingError::MissingColumn { column: column.clone() }),
                count => return Err(MappingError::AmbiguousColumn { column: column.clone(), count }),
            }
        }
        Ok(())
    }

    fn check_duplicate_targets(&self) -> Result<(), MappingError> {
        for (index, column) in self.columns.iter().enumerate() {
            let Some(target) = &column.target else {
                continue;
            };
            let earlier = self.columns[..index]
                .iter()
                .find(|earlier| earlier.target.as_ref().is_some_and(|other| other.same_field(target)));
            if let Some(earlier) = earlier {
                return Err(MappingError::DuplicateTarget {
                    target: target.name().to_owned(),
                    first: earlier.name.clone(),
                    second: column.name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Resolves the targets of the explicit mapping, keyed by normalised
/// column name.
fn resolve_explicit(
    explicit: &BTreeMap<String, String>,
    definitions: &[FieldDefinition],
) -> Result<BTreeMap<String, Option<Target>>, MappingError> {
    let mut resolved = BTreeMap::new();
    for (column, target) in explicit {
        let normalised = normalise_name(column);
        if normalised.is_empty() {
            return Err(MappingError::MissingColumn { column: column.clone() });
        }

        let target_name = normalise_name(target);
        let target = if target_name == IGNORE {
            None
        } else {
            let found = resolve_target(&target_name, definitions);
            Some(found.ok_or_else(|| MappingError::UnknownTarget { column: column.clone(), target: target.clone() })?)
        };

        if resolved.insert(normalised, target).is_some() {
            return Err(MappingError::RepeatedColumn { column: column.clone() });
        }
    }
    Ok(resolved)
}

/// Finds the target called `name` (normalised): a built-in target first,
/// then a custom field.
pub(super) fn resolve_target(name: &str, definitions: &[FieldDefinition]) -> Option<Target> {
    if let Some(field) = StandardField::parse(name) {
        return Some(Target::Standard(field));
    }
    if name == CUSTOMER_ID {
        return Some(Target::CustomerId);
    }
    if let Some(status) = StatusColumn::ALL.into_iter().find(|status| status.name() == name) {
        return Some(Target::Status(status));
    }
    definitions.iter().find(|definition| definition.name == name).cloned().map(Target::Custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FieldType;

    fn definition(name: &str, kind: FieldType) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::now_v7(),
            name: name.to_owned(),
            label: name.to_owned(),
            kind,
            options: Vec::new(),
            default: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn explicit(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries.iter().map(|(column, target)| ((*column).to_owned(), (*target).to_owned())).collect()
    }

    fn targets(mapping: &Mapping) -> Vec<(Option<String>, MappedBy)> {
        mapping
            .columns()
            .iter()
            .map(|column| (column.target.as_ref().map(|target| target.name().to_owned()), column.mapped_by))
            .collect()
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise_name("  E-Mail Address "), "e_mail_address");
        assert_eq!(normalise_name("First   Name"), "first_name");
        assert_eq!(normalise_name("date_of-birth"), "date_of_birth");
        assert_eq!(normalise_name("Not subscribed"), "not_subscribed");
        assert_eq!(normalise_name(" - "), "");
    }

    #[test]
    fn headers_map_by_name_alias_and_custom_field() {
        let definitions = [definition("shoe_size", FieldType::Integer)];
        let names = header(&["Email", "Mobile", "First Name", "Shoe Size", "Newsletter", "Notes"]);

        let mapping = Mapping::new(names, &BTreeMap::new(), KeyField::Email, &definitions).expect("valid");

        assert_eq!(
            targets(&mapping),
            vec![
                (Some("email".to_owned()), MappedBy::Name),
                (Some("cellphone".to_owned()), MappedBy::Alias),
                (Some("first_name".to_owned()), MappedBy::Name),
                (Some("shoe_size".to_owned()), MappedBy::Name),
                (Some("newsletter_status".to_owned()), MappedBy::Alias),
                (None, MappedBy::Unknown),
            ]
        );
        assert_eq!(mapping.key_column(), 0);
    }

    #[test]
    fn every_alias_resolves_to_a_target() {
        for (alias, target) in ALIASES {
            assert_eq!(normalise_name(alias), *alias, "aliases are stored normalised");
            assert!(resolve_target(target, &[]).is_some(), "{alias} -> {target}");
        }
    }

    #[test]
    fn custom_field_wins_over_alias() {
        let definitions = [definition("phone", FieldType::Phone)];

        let mapping =
            Mapping::new(header(&["email", "phone"]), &BTreeMap::new(), KeyField::Email, &definitions).expect("valid");

        assert_eq!(targets(&mapping)[1], (Some("phone".to_owned()), MappedBy::Name));
        assert!(matches!(mapping.columns()[1].target, Some(Target::Custom(_))));
    }

    #[test]
    fn explicit_mapping_overrides_and_ignores() {
        let mapping_entries = explicit(&[("Work Phone", "cellphone"), ("mobile", "ignore"), ("id", "customer_id")]);

        let mapping =
            Mapping::new(header(&["email", "work phone", "Mobile", "ID"]), &mapping_entries, KeyField::CustomerId, &[])
                .expect("valid");

        assert_eq!(
            targets(&mapping),
            vec![
                (Some("email".to_owned()), MappedBy::Name),
                (Some("cellphone".to_owned()), MappedBy::Explicit),
                (None, MappedBy::Ignored),
                (Some("customer_id".to_owned()), MappedBy::Explicit),
            ]
        );
        assert_eq!(mapping.key_column(), 3);
    }

    #[test]
    fn two_columns_for_one_target_is_an_error() {
        let error = Mapping::new(header(&["email", "phone", "mobile"]), &BTreeMap::new(), KeyField::Email, &[])
            .expect_err("duplicate");

        assert_eq!(
            error,
            MappingError::DuplicateTarget {
                target: "cellphone".to_owned(),
                first: "phone".to_owned(),
                second: "mobile".to_owned()
            }
        );
        assert_eq!(error.column(), Some("mobile"));
    }

    #[test]
    fn explicit_mapping_to_filled_target_fails() {
        let entries = explicit(&[("contact", "email")]);

        let error = Mapping::new(header(&["email", "contact"]), &entries, KeyField::Email, &[]).expect_err("duplicate");

        assert!(matches!(error, MappingError::DuplicateTarget { .. }), "{error:?}");
    }

    #[test]
    fn explicit_mapping_must_name_one_existing_column() {
        let missing = Mapping::new(header(&["email"]), &explicit(&[("mobile", "cellphone")]), KeyField::Email, &[]);
        let ambiguous =
            Mapping::new(header(&["email", "Notes", "notes"]), &explicit(&[("NOTES", "ignore")]), KeyField::Email, &[]);
        let repeated = Mapping::new(
            header(&["email", "notes"]),
            &explicit(&[("notes", "ignore"), ("Notes", "ignore")]),
            KeyField::Email,
            &[],
        );

        assert_eq!(missing.expect_err("missing"), MappingError::MissingColumn { column: "mobile".to_owned() });
        assert_eq!(
            ambiguous.expect_err("ambiguous"),
            MappingError::AmbiguousColumn { column: "notes".to_owned(), count: 2 }
        );
        assert!(matches!(repeated.expect_err("repeated"), MappingError::RepeatedColumn { .. }));
    }

    #[test]
    fn explicit_mapping_to_unknown_target_is_an_error() {
        let error = Mapping::new(header(&["email", "size"]), &explicit(&[("size", "shoe_size")]), KeyField::Email, &[])
            .expect_err("unknown target");

        assert_eq!(error, MappingError::UnknownTarget { column: "size".to_owned(), target: "shoe_size".to_owned() });
        assert!(error.to_string().contains("custom field name or ignore"), "{error}");
    }

    #[test]
    fn key_column_is_required() {
        let error =
            Mapping::new(header(&["email", "name"]), &BTreeMap::new(), KeyField::Cellphone, &[]).expect_err("no key");
        let ignored = Mapping::new(header(&["email"]), &explicit(&[("email", "ignore")]), KeyField::Email, &[])
            .expect_err("no key");

        assert_eq!(error, MappingError::MissingKeyColumn { key: KeyField::Cellphone });
        assert_eq!(
            error.to_string(),
            "no column maps to cellphone, the import key; add a column named cellphone or map one to it, and check that the file is CSV or NDJSON text"
        );
        assert_eq!(ignored, MappingError::MissingKeyColumn { key: KeyField::Email });
    }

    #[test]
    fn unknown_and_empty_headers_are_reported() {
        let mapping = Mapping::new(header(&["email", "", "Loyalty tier"]), &BTreeMap::new(), KeyField::Email, &[])
            .expect("valid");

        let report = mapping.report();

        assert_eq!(report.unknown_columns().collect::<Vec<_>>(), vec!["", "Loyalty tier"]);
        assert_eq!(report.columns[2].position, 3);
    }

    #[test]
    fn added_column_conflicts_with_taken_target() {
        let mut mapping = Mapping::new(header(&["email"]), &BTreeMap::new(), KeyField::Email, &[]).expect("valid");

        let conflict = mapping.add_column("E-mail".to_owned());
        let phone = mapping.add_column("phone".to_owned());

        assert_eq!(mapping.columns()[conflict].mapped_by, MappedBy::Conflict);
        assert_eq!(mapping.filled_by(conflict), Some("email"));
        assert_eq!(mapping.columns()[phone].mapped_by, MappedBy::Alias);
    }
}
