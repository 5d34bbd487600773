//! The output of a plugin call: fields to set, consent changes and an identity.

/// A contact field to set; several entries with one name fill a
/// multiple-choice field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
}

/// A messaging channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Newsletter,
    Sms,
}

/// A consent change given on the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consent {
    pub channel: Channel,
    pub subscribed: bool,
}

/// The visitor's identity, when the form proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Email(String),
    Phone(String),
    CustomerId(String),
}

/// Everything one call captured; empty changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    pub fields: Vec<FieldValue>,
    pub consents: Vec<Consent>,
    pub identity: Option<Identity>,
}

impl Capture {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.consents.is_empty() && self.identity.is_none()
    }
}
