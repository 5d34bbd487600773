//! Applying checked import rows to the store.
//!
//! A row finds its contact by the import key. The mode decides whether a
//! missing contact is created and an existing one updated. A value the
//! contact already has is kept unless the import overwrites, and an
//! unchanged value is not written again, so importing the same file twice
//! changes nothing the second time. A row whose unique value (email,
//! cellphone, customer id) belongs to another contact is rejected before
//! anything is written. Each changed contact gets one `admin_edit`
//! activity naming the token, the fields and the import job, and its
//! dynamic segments are evaluated again.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ImportRow, KeyField, Reject};
use crate::identity::{FieldChange, FieldWriteError, Identity, PhoneCountry, UniqueChange};
use crate::segments::{Evaluator, Segment};
use crate::status::{self, ChannelStatus, EmailEvent, EmailEventKind, StatusChanges, StatusError, Statuses};
use crate::store::{Activity, ActivityKind, ContactId, IndexKind, Millis, Store, StoreError, TransferId};

/// Name under which a contact's customer id is stored in its fields.
pub const CUSTOMER_ID_FIELD: &str = "customer_id";

/// The rows an import applies, by whether their contact exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Create contacts whose key is new; skip existing ones.
    CreateOnly,
    /// Update contacts whose key exists; skip new ones.
    UpdateOnly,
    /// Create new contacts and update existing ones.
    #[default]
    Upsert,
}

/// The settings of an import beyond its rows' values.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    pub key: KeyField,
    pub mode: ImportMode,
    /// Replace values an existing contact already has. Off: only empty
    /// fields are filled and statuses of existing contacts are kept.
    pub overwrite: bool,
    /// A static segment every imported contact joins.
    pub segment: Option<Segment>,
    /// The admin token's name, recorded in activities.
    pub by: String,
    pub job: TransferId,
    pub phone_country: PhoneCountry,
}

/// The outcome of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowResult {
    Created(ContactId),
    Updated(ContactId),
    Unchanged(ContactId),
    Skipped,
    Rejected(Reject),
}

/// Applies import rows; shared by every job of a process.
pub struct Importer {
    store: Arc<dyn Store>,
    identity: Identity,
    segments: Arc<Evaluator>,
}

impl Importer {
    pub fn new(store: Arc<dyn Store>, identity: Identity, segments: Arc<Evaluator>) -> Importer {
        Importer { store, identity, segments }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Applies one checked row. A store failure is returned; the row may
    /// then be partly applied, and applying it again (`repeat` true) or
    /// importing the file again completes it.
    pub async fn apply(
        &self,
        settings: &ImportSettings,
        row: &ImportRow,
        at: Millis,
        repeat: bool,
    ) -> Result<RowResult, StoreError> {
        // A new contact whose key another writer claims first becomes an
        // update of that contact, once.
        for _ in 0..2 {
            let owner = self.store.index_lookup(settings.key.index(), &row.key).await?;
            let existing = match owner {
                Some(owner) => self.identity.resolve(owner).await?,
                None => None,
            };
            match (&existing, settings.mode) {
                (Some(_), ImportMode::CreateOnly) | (None, ImportMode::UpdateOnly) => return Ok(RowResult::Skipped),
                _ => {}
            }

            let outcome = match existing {
                Some((contact, record)) => self.update(settings, row, contact, &record.fields, at, repeat).await?,
                None => self.create(settings, row, owner, at).await?,
            };
            if let Some(result) = outcome {
                return Ok(result);
            }
        }
        Ok(RowResult::Rejected(Reject::new(
            row.row,
            None,
            "the key changed owner during the import; import the row again",
        )))
    }

    /// Creates the row's contact. Returns `None` when another contact took
    /// the key meanwhile.
    ///
    /// `claimed_by` is the key's owner when no contact exists under that id.
    /// Such a claim is left by a write that failed after claiming (see
    /// [`Identity::write_fields`]). The contact is then created under that
    /// id, so the claims become its own.
    async fn create(
        &self,
        settings: &ImportSettings,
        row: &ImportRow,
        claimed_by: Option<ContactId>,
        at: Millis,
    ) -> Result<Option<RowResult>, StoreError> {
        let contact = match claimed_by {
            Some(owner) if self.store.contact(owner).await?.is_none() => owner,
            _ => ContactId::new(),
        };
        let changes = field_changes(settings, row, &BTreeMap::new(), true);

        match self.identity.create_with_fields(contact, &changes, &edit_activity(settings, &changes, at)).await {
            Ok(()) => {}
            Err(FieldWriteError::Taken { field, .. }) if field == key_field_name(settings.key) => return Ok(None),
            Err(FieldWriteError::Taken { field, .. }) => return Ok(Some(taken(row, &field))),
            Err(FieldWriteError::Store(error)) => return Err(error),
        }
        if let StatusOutcome::Rejected(reject) = self.apply_statuses(settings, row, contact, at).await? {
            tracing::warn!(contact.id = %contact, import.id = %settings.job, "import created a contact whose statuses were invalid");
            return Ok(Some(RowResult::Rejected(reject)));
        }
        if row.email_bounced {
            self.record_bounce(settings, contact, at).await?;
        }

        self.finish(settings, contact, &changes, at).await?;
        Ok(Some(RowResult::Created(contact)))
    }

    /// Updates an existing contact with fields `current`. Statuses change
    /// first, so that a status the contact cannot take rejects the row
    /// before any field is written.
    async fn update(
        &self,
        settings: &ImportSettings,
        row: &ImportRow,
        contact: ContactId,
        current: &BTreeMap<String, String>,
        at: Millis,
        repeat: bool,
    ) -> Result<Option<RowResult>, StoreError> {
        let changes = field_changes(settings, row, current, settings.overwrite);
        if let Some(field) = self.taken_value(contact, &changes).await? {
            return Ok(Some(taken(row, &field)));
        }

        let mut statuses_changed = false;
        if settings.overwrite {
            match self.apply_statuses(settings, row, contact, at).await? {
                StatusOutcome::Rejected(reject) => return Ok(Some(RowResult::Rejected(reject))),
                StatusOutcome::Changed => statuses_changed = true,
                StatusOutcome::Unchanged => {}
            }
        }
        if !changes.is_empty() {
            match self.identity.write_fields(contact, &changes, &edit_activity(settings, &changes, at)).await {
                Ok(()) => {}
                Err(FieldWriteError::Taken { field, .. }) => return Ok(Some(taken(row, &field))),
                Err(FieldWriteError::Store(error)) => return Err(error),
            }
        } else if repeat {
            // The failed attempt may have stored the contact and failed to
            // list it. Writing no field refreshes its list entries.
            self.store.set_fields(contact, &BTreeMap::new(), true, at).await?;
        }

        let bounced = settings.overwrite && row.email_bounced && self.record_bounce(settings, contact, at).await?;

        let joined = self.finish(settings, contact, &changes, at).await?;
        if changes.is_empty() && !statuses_changed && !bounced && !joined {
            return Ok(Some(RowResult::Unchanged(contact)));
        }
        Ok(Some(RowResult::Updated(contact)))
    }

    /// Returns the field of the first new unique value in `changes` that
    /// another contact owns, checked before anything is written.
    async fn taken_value(&self, contact: ContactId, changes: &[FieldChange]) -> Result<Option<String>, StoreError> {
        for change in changes {
            let Some(UniqueChange { kind, new_key: Some(key), .. }) = &change.unique else {
                continue;
            };
            let Some(owner) = self.store.index_lookup(*kind, key).await? else {
                continue;
            };
            let live = self.identity.resolve(owner).await?.map(|(live, _)| live);
            if live.is_some_and(|live| live != contact) {
                return Ok(Some(change.name.clone()));
            }
        }
        Ok(None)
    }

    /// Records a hard bounce of `contact`'s current email for a row whose
    /// email status is `bounced`, unless that address is bounced already.
    /// Returns true when it recorded one. A contact without an email has
    /// nothing to bounce.
    async fn record_bounce(
        &self,
        settings: &ImportSettings,
        contact: ContactId,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let Some(record) = self.store.contact(contact).await? else {
            return Ok(false);
        };
        let Some(address) = status::current_address(&record) else {
            return Ok(false);
        };
        if Statuses::of(&record)?.email_status(Some(&address)) == ChannelStatus::Bounced {
            return Ok(false);
        }

        let reason = format!("imported as bounced by import {}", settings.job);
        let event = EmailEvent { address, kind: EmailEventKind::HardBounce, reason: Some(reason), at };
        match status::apply_email_event(self.store.as_ref(), &self.identity, contact, &event, 1).await {
            Ok(_) => Ok(true),
            Err(StatusError::Store(error)) => Err(error),
            Err(error) => {
                tracing::warn!(contact.id = %contact, import.id = %settings.job, %error, "import could not record a bounce");
                Ok(false)
            }
        }
    }

    /// Applies the row's status columns, when it has any.
    async fn apply_statuses(
        &self,
        settings: &ImportSettings,
        row: &ImportRow,
        contact: ContactId,
        at: Millis,
    ) -> Result<StatusOutcome, StoreError> {
        if row.statuses == StatusChanges::default() {
            return Ok(StatusOutcome::Unchanged);
        }
        match status::apply_changes(self.store.as_ref(), &self.identity, contact, &row.statuses, &settings.by, at).await
        {
            Ok(applied) if Statuses::of(&applied.record)? == applied.statuses => Ok(StatusOutcome::Unchanged),
            Ok(_) => Ok(StatusOutcome::Changed),
            Err(StatusError::Store(error)) => Err(error),
            Err(StatusError::Invalid(invalid)) => {
                let column = (invalid.member != "body").then(|| format!("{}_status", invalid.member));
                let reason = format!("status not applied: {}", invalid.detail);
                Ok(StatusOutcome::Rejected(Reject::new(row.row, column.as_deref(), reason)))
            }
            Err(error) => {
                Ok(StatusOutcome::Rejected(Reject::new(row.row, None, format!("statuses not applied: {error}"))))
            }
        }
    }

    /// Joins the static segment and evaluates the segments of a changed
    /// contact. Returns true when the contact joined the segment.
    async fn finish(
        &self,
        settings: &ImportSettings,
        contact: ContactId,
        changes: &[FieldChange],
        at: Millis,
    ) -> Result<bool, StoreError> {
        let joined = match &settings.segment {
            Some(segment) => self.store.add_segment_member(segment, contact, at).await?,
            None => false,
        };
        if !changes.is_empty() || joined {
            self.segments.evaluate_logged(contact).await;
        }
        Ok(joined)
    }
}

/// Returns the `admin_edit` activity that records `changes`, naming the
/// token and the import job.
fn edit_activity(settings: &ImportSettings, changes: &[FieldChange], at: Millis) -> Activity {
    let names: Vec<&str> = changes.iter().map(|change| change.name.as_str()).collect();
    Activity {
        at,
        kind: ActivityKind::AdminEdit,
        url: String::new(),
        referrer: None,
        properties: BTreeMap::from([
            ("by".to_owned(), settings.by.clone()),
            ("fields".to_owned(), names.join(",")),
            ("import".to_owned(), settings.job.to_string()),
        ]),
    }
}

/// The outcome of applying a row's status columns.
enum StatusOutcome {
    Unchanged,
    Changed,
    Rejected(Reject),
}

/// Returns the writes of `row` for a contact whose fields are `current`:
/// every value that differs, and with `replace` false only those the
/// contact does not have yet.
fn field_changes(
    settings: &ImportSettings,
    row: &ImportRow,
    current: &BTreeMap<String, String>,
    replace: bool,
) -> Vec<FieldChange> {
    let needs_write = |name: &str, value: &str| {
        let stored = current.get(name).filter(|stored| !stored.is_empty());
        match stored {
            Some(stored) => replace && stored != value,
            None => true,
        }
    };

    let mut changes = Vec::new();
    for (field, value) in &row.standard {
        let name = field.name();
        if !needs_write(name, &value.stored) {
            continue;
        }
        let unique = field.index().map(|kind| UniqueChange {
            kind,
            old_key: current.get(name).and_then(|old| field.index_key_of_stored(old, settings.phone_country)),
            new_key: value.index_key.clone(),
        });
        changes.push(FieldChange { name: name.to_owned(), stored: Some(value.stored.clone()), unique });
    }
    if let Some(id) = row.customer_id.as_deref().filter(|id| needs_write(CUSTOMER_ID_FIELD, id)) {
        let unique = UniqueChange {
            kind: IndexKind::CustomerId,
            old_key: current.get(CUSTOMER_ID_FIELD).cloned().filter(|old| !old.is_empty()),
            new_key: Some(id.to_owned()),
        };
        changes.push(FieldChange {
            name: CUSTOMER_ID_FIELD.to_owned(),
            stored: Some(id.to_owned()),
            unique: Some(unique),
        });
    }
    for value in &row.custom {
        let Some(text) = value.text.as_deref().filter(|text| needs_write(&value.storage_name, text)) else {
            continue;
        };
        changes.push(FieldChange { name: value.storage_name.clone(), stored: Some(text.to_owned()), unique: None });
    }
    changes
}

/// Returns the name under which the key's field is stored.
fn key_field_name(key: KeyField) -> &'static str {
    match key {
        KeyField::Email => "email",
        KeyField::Cellphone => "cellphone",
        KeyField::CustomerId => CUSTOMER_ID_FIELD,
    }
}

fn taken(row: &ImportRow, field: &str) -> RowResult {
    RowResult::Rejected(Reject::new(row.row, Some(field), format!("another contact already has this {field}")))
}
