//! The input of a plugin call: one form submission.

/// One submitted field; repeated names stay separate entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A form submission as the browser sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Submission {
    /// Request path without the query string.
    pub route: String,
    /// HTTP method in upper case.
    pub method: String,
    /// Media type in lower case, without parameters.
    pub content_type: String,
    /// Query string fields first, then body fields, in submission order.
    pub fields: Vec<Field>,
}
