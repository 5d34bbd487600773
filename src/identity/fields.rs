//! Writing a contact's profile fields, with its unique values claimed
//! first.
//!
//! Email, cellphone and customer id are unique among contacts. A new
//! value is claimed in its index before the fields are written, and the
//! old value is released after. So at every moment the contact owns the
//! value its fields show, and no other contact can take either value in
//! between.
//! A value owned by another contact fails the write after the claims this
//! write made are released again. The admin API's create and edit and the
//! import share this path.

use std::collections::BTreeMap;

use super::Identity;
use crate::store::{Activity, ContactId, IndexKind, StoreError};

/// One field to set or remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The name in the contact's fields: a standard field's name, or a
    /// custom field's storage name.
    pub name: String,
    /// The value to store; `None` removes the field.
    pub stored: Option<String>,
    /// For a unique field, its index keys.
    pub unique: Option<UniqueChange>,
}

/// The index keys of a unique field before and after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueChange {
    pub kind: IndexKind,
    /// The key of the value stored now, released after the write.
    pub old_key: Option<String>,
    /// The key of the new value, claimed before the write.
    pub new_key: Option<String>,
}

/// The reason a field write failed.
#[derive(Debug, thiserror::Error)]
pub enum FieldWriteError {
    /// Another contact owns the new value of field `field`.
    #[error("another contact ({owner}) already has this {field}")]
    Taken { field: String, owner: ContactId },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Identity {
    /// Claims the new unique values of `changes` for `contact`, writes the
    /// fields (creating the contact when it does not exist) together with
    /// `activity`, the record of the edit, and releases the old unique
    /// values.
    pub async fn write_fields(
        &self,
        contact: ContactId,
        changes: &[FieldChange],
        activity: &Activity,
    ) -> Result<(), FieldWriteError> {
        self.write(contact, changes, activity, false).await
    }

    /// Writes like [`Identity::write_fields`] for `contact`, a new id that
    /// no contact has yet, so the store creates it without reading first.
    pub async fn create_with_fields(
        &self,
        contact: ContactId,
        changes: &[FieldChange],
        activity: &Activity,
    ) -> Result<(), FieldWriteError> {
        self.write(contact, changes, activity, true).await
    }

    async fn write(
        &self,
        contact: ContactId,
        changes: &[FieldChange],
        activity: &Activity,
        new: bool,
    ) -> Result<(), FieldWriteError> {
        let (claimed, to_release) = self.claim_unique_values(contact, changes).await?;

        // An empty value removes the field (see `Store::set_fields`).
        let values: BTreeMap<String, String> =
            changes.iter().map(|change| (change.name.clone(), change.stored.clone().unwrap_or_default())).collect();
        let written = if new {
            self.store.create_contact(contact, &values, activity).await
        } else {
            self.store.set_fields_with_activity(contact, &values, activity).await
        };
        if let Err(error) = written {
            // A write that may have been applied keeps its claims, so that
            // the contact never shows a value it does not own. A repeat of
            // the write finds them owned by the contact already.
            if error.may_have_applied() {
                tracing::warn!(contact.id = %contact, %error, "field write failed and may have been applied; claims kept");
            } else {
                self.release_all(contact, &claimed).await;
            }
            return Err(error.into());
        }

        // A crash before the release leaves the old value owned by this
        // contact and blocked for others.
        for (kind, key) in &to_release {
            self.store.release_index(*kind, key, contact).await?;
        }
        Ok(())
    }

    /// Claims the new keys of `changes` for `contact`, all at once. Returns
    /// the keys claimed and the old keys to release once the fields are
    /// written. On a conflict or a failure, releases what it claimed.
    async fn claim_unique_values(
        &self,
        contact: ContactId,
        changes: &[FieldChange],
    ) -> Result<(Vec<(IndexKind, String)>, Vec<(IndexKind, String)>), FieldWriteError> {
        let mut new_keys = Vec::new();
        let mut to_release = Vec::new();
        for change in changes {
            let Some(unique) = &change.unique else {
                continue;
            };
            if unique.new_key == unique.old_key {
                continue;
            }
            if let Some(new_key) = &unique.new_key {
                new_keys.push((change, unique.kind, new_key));
            }
            if let Some(old_key) = &unique.old_key {
                to_release.push((unique.kind, old_key.clone()));
            }
        }

        let claims = new_keys.iter().map(|(_, kind, key)| self.store.claim_index(*kind, key, contact));
        let owners = futures_util::future::join_all(claims).await;
        let mut claimed = Vec::new();
        let mut outcome = Ok(());
        for ((change, kind, key), owner) in new_keys.iter().zip(owners) {
            match owner {
                Ok(owner) if owner == contact => claimed.push((*kind, (*key).clone())),
                Ok(owner) => {
                    if outcome.is_ok() {
                        outcome = self.check_owner(contact, owner, &change.name).await;
                    }
                }
                Err(error) => {
                    if outcome.is_ok() {
                        outcome = Err(error.into());
                    }
                }
            }
        }

        if let Err(error) = outcome {
            self.release_all(contact, &claimed).await;
            return Err(error);
        }
        Ok((claimed, to_release))
    }

    /// Fails with [`FieldWriteError::Taken`] unless `owner`, which owns the
    /// value of field `field`, was merged into `contact`.
    async fn check_owner(&self, contact: ContactId, owner: ContactId, field: &str) -> Result<(), FieldWriteError> {
        if self.owned_through_merge(owner, contact).await? {
            return Ok(());
        }
        tracing::info!(contact.id = %contact, owner.id = %owner, field = %field, "unique value already taken");
        Err(FieldWriteError::Taken { field: field.to_owned(), owner })
    }

    /// Returns true when `owner` is a contact merged into `contact`, so the
    /// value already belongs to `contact`.
    async fn owned_through_merge(&self, owner: ContactId, contact: ContactId) -> Result<bool, StoreError> {
        let live = self.resolve(owner).await?.map(|(live, _)| live);
        Ok(live == Some(contact))
    }

    /// Releases claims made by a write that failed. Errors are logged, not
    /// returned, because the write already fails with its own error.
    ///
    /// NOTE: a claim left behind by a failed release (or a crash) keeps its
    /// value blocked for other contacts, and nothing repairs it yet.
    async fn release_all(&self, contact: ContactId, claimed: &[(IndexKind, String)]) {
        for (kind, key) in claimed {
            if let Err(error) = self.store.release_index(*kind, key, contact).await {
                tracing::warn!(contact.id = %contact, index = kind.as_str(), %error, "failed to release a claimed value");
            }
        }
    }
}
