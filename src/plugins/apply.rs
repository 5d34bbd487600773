//! Applying an accepted capture to the visitor's contact, in the recorder's
//! writer task.
//!
//! The steps run in this order. The whole capture is checked first, so
//! nothing is written when it is invalid. An identity then identifies the
//! browser, binding and merging like a login. The unique values (email,
//! cellphone) are claimed, the fields set, and the consents applied. Setting fields
//! raises the contact's `updated_at` and refreshes its place in the
//! contacts list, as staff edits do.
//!
//! A unique value that another contact already owns is not taken over: the
//! field is left out and the rest of the capture applies, because typing
//! someone else's email into a form is no proof of owning it. Only an
//! identity (which the plugin returns when the form proves it, such as a
//! registration) binds the browser to the owner of a value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::check::{check_capture, CheckedCapture};
use super::{Capture, PluginHost};
use crate::identity::{Identified, Identity, PhoneCountry};
use crate::recorder::Browser;
use crate::status::{apply_form_consents, StatusError};
use crate::store::{Activity, ContactId, FieldDefinition, IndexKind, Millis, Source, Store, StoreError};

/// How long custom field definitions are reused before they are read
/// again, so a burst of captures reads them once.
const DEFINITIONS_TTL: Duration = Duration::from_secs(5);

/// A capture the shop accepted, queued for the writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedCapture {
    /// The plugin's configured name.
    pub plugin: String,
    /// The request path the form was posted to.
    pub route: String,
    pub capture: Capture,
    /// When the shop responded.
    pub at: Millis,
    /// The `form_submission` activity to record, unless an activity rule
    /// already recorded this request.
    pub activity: Option<Activity>,
}

/// Applies accepted captures to the store.
pub struct CaptureApplier {
    store: Arc<dyn Store>,
    identity: Identity,
    /// Counts rejected captures toward the plugin's consecutive faults.
    plugins: Arc<PluginHost>,
    country: PhoneCountry,
    /// Definitions and when they were read.
    definitions: Mutex<Option<(Instant, Arc<Vec<FieldDefinition>>)>>,
}

/// The contacts an applied capture changed, so the caller can re-evaluate
/// their dynamic segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The contact the capture was applied to; `None` when nothing was.
    pub contact: Option<ContactId>,
    /// The anonymous contact merged into `contact` by the capture's identity.
    pub merged_from: Option<ContactId>,
}

impl CaptureApplier {
    pub fn new(store: Arc<dyn Store>, plugins: Arc<PluginHost>, country: PhoneCountry) -> CaptureApplier {
        let identity = Identity::new(store.clone());
        CaptureApplier { store, identity, plugins, country, definitions: Mutex::new(None) }
    }

    /// Applies `accepted` to the contact of `browser`. An invalid capture
    /// is logged with the plugin's name, counted as an `invalid_output`
    /// fault toward the plugin's consecutive faults, and dropped. Returns an error only when the store failed, so
    /// the writer can retry.
    pub async fn apply(&self, browser: &Browser, accepted: &AcceptedCapture) -> Result<Applied, StoreError> {
        let definitions = self.definitions().await?;
        let today = time::OffsetDateTime::now_utc().date();
        let checked = match check_capture(&accepted.capture, &definitions, self.country, today) {
            Ok(checked) => checked,
            Err(fault) => {
                // Logs the fault with the plugin's name and counts it in
                // `footprint_plugin_faults_total{plugin,kind}`.
                self.plugins.report_fault(&accepted.plugin, &fault);
                return Ok(Applied::default());
            }
        };

        let applied = self.contact(browser, accepted, &checked).await?;
        let Some(contact) = applied.contact else {
            return Ok(applied);
        };

        let fields = self.claim_unique(contact, &checked).await?;
        if !fields.is_empty() {
            self.store.set_fields(contact, &fields, false, accepted.at).await?;
        }

        if !checked.consents.is_empty() {
            let consents = &checked.consents;
            match apply_form_consents(&*self.store, &self.identity, contact, consents, &accepted.route, accepted.at)
                .await
            {
                Ok(_) => {}
                Err(StatusError::Store(error)) => return Err(error),
                Err(error) => {
                    tracing::warn!(plugin = %accepted.plugin, contact.id = %contact, %error, "form consents not applied");
                }
            }
        }

        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        tracing::debug!(
            plugin = %accepted.plugin,
            contact.id = %contact,
            fields = %names.join(","),
            consents = checked.consents.len(),
            identified = checked.identity.is_some(),
            "plugin capture applied"
        );
        Ok(applied)
    }

    /// Returns the contact the capture applies to, identifying the browser
    /// first when the capture carries an identity, and records the
    /// submission's activity on it.
    async fn contact(
        &self,
        browser: &Browser,
        accepted: &AcceptedCapture,
        checked: &CheckedCapture,
    ) -> Result<Applied, StoreError> {
        if let Some(key) = &checked.identity {
            let outcome =
                self.identity.identify_by(browser, Some(key.clone()), accepted.at, accepted.activity.clone()).await?;
            let merged_from = match outcome {
                Identified::Merged { from, .. } => Some(from),
                _ => None,
            };
            return Ok(Applied { contact: outcome.contact(), merged_from });
        }

        // A visitor who submitted a form the shop accepted is a contact,
        // even on the first request of a browser.
        let contact = self.identity.contact_for(browser, true, accepted.at).await?;
        if let (Some(contact), Some(activity)) = (contact, &accepted.activity) {
            let source = Source::Tracker { tracker: browser.tracker, contact };
            self.store.append_activities(&[(source, activity.clone())]).await?;
        }
        Ok(Applied { contact, merged_from: None })
    }

    /// Claims the unique values among the checked fields for `contact` and
    /// returns the fields to set: every checked field except unique values
    /// owned by another contact. Old values of claimed fields are released
    /// once the new ones are claimed.
    async fn claim_unique(
        &self,
        contact: ContactId,
        checked: &CheckedCapture,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut fields = checked.fields.clone();
        if checked.unique.is_empty() {
            return Ok(fields);
        }
        let current = match self.identity.resolve(contact).await? {
            Some((_, record)) => record.fields,
            None => BTreeMap::new(),
        };

        for (field, kind, key) in &checked.unique {
            let old_key = current.get(field.name()).and_then(|old| field.index_key_of_stored(old, self.country));
            if old_key.as_deref() == Some(key.as_str()) {
                continue;
            }

            let owner = self.store.claim_index(*kind, key, contact).await?;
            if owner != contact && !self.owned_through_merge(owner, contact).await? {
                tracing::info!(contact.id = %contact, owner.id = %owner, field = field.name(), "captured unique value already taken; field skipped");
                fields.remove(field.name());
                continue;
            }
            if let Some(old_key) = old_key {
                self.release(*kind, &old_key, contact).await?;
            }
        }
        Ok(fields)
    }

    async fn owned_through_merge(&self, owner: ContactId, contact: ContactId) -> Result<bool, StoreError> {
        let live = self.identity.resolve(owner).await?.map(|(live, _)| live);
        Ok(live == Some(contact))
    }

    async fn release(&self, kind: IndexKind, key: &str, contact: ContactId) -> Result<(), StoreError> {
        self.store.release_index(kind, key, contact).await
    }

    /// Returns the custom field definitions, read at most every
    /// [`DEFINITIONS_TTL`].
    async fn definitions(&self) -> Result<Arc<Vec<FieldDefinition>>, StoreError> {
        let mut cached = self.definitions.lock().await;
        if let Some((read_at, definitions)) = cached.as_ref() {
            if read_at.elapsed() < DEFINITIONS_TTL {
                return Ok(definitions.clone());
            }
        }

        let definitions = Arc::new(self.store.field_definitions().await?);
        *cached = Some((Instant::now(), definitions.clone()));
        Ok(definitions)
    }
}
