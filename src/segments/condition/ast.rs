//! The typed tree a parsed condition is made of.
//!
//! Every value in the tree is already checked and typed (numbers as
//! [`Decimal`], dates as [`Date`], times as [`Millis`]), so evaluation never
//! parses operands again and cannot fail on them. Custom fields are resolved
//! to their storage name and type when the condition is parsed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use time::Date;

use crate::status::{ChannelStatus, Subscription};
use crate::store::{ActivityKind, FieldType, Millis};
use crate::tracking::PathPattern;

/// A node of a condition: a combination of conditions or one term.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// True when every child is true.
    All(Vec<Node>),
    /// True when at least one child is true.
    Any(Vec<Node>),
    Not(Box<Node>),
    Field(FieldTerm),
    Status(StatusTerm),
    Activity(ActivityTerm),
    SinceLast(SinceLastTerm),
    Spent(SpentTerm),
    Basket(BasketTerm),
}

/// A test on one standard or custom field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldTerm {
    pub field: FieldRef,
    pub test: FieldTest,
}

/// A field as resolved at parse time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRef {
    /// The name the condition uses (`city`, `first_name`).
    pub name: String,
    /// The profile field the value is read from: the name itself for a
    /// standard field, `cf.<id>` for a custom one.
    pub storage_name: String,
    pub kind: FieldType,
    /// The custom field's default in stored form, read for contacts that
    /// have no value of their own.
    pub default: Option<String>,
}

/// The test a field term applies.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldTest {
    IsSet,
    IsNotSet,
    Equals(Operand),
    NotEquals(Operand),
    /// Substring test on text, ignoring case.
    Contains(String),
    /// Prefix test on text, ignoring case.
    StartsWith(String),
    GreaterThan(Decimal),
    LessThan(Decimal),
    /// Inclusive range; `low <= high` is checked at parse time.
    Between(Operand, Operand),
    In(Vec<Operand>),
    Before(Moment),
    After(Moment),
    /// Multiple choice: at least one of these options is chosen.
    ContainsAny(Vec<String>),
    /// Multiple choice: every one of these options is chosen.
    ContainsAll(Vec<String>),
}

/// A typed operand of a field test.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operand {
    Text(String),
    Number(Decimal),
    Date(Date),
    DateTime(Millis),
    Boolean(bool),
}

/// The operand of `before` and `after`: a fixed date or time, or one
/// relative to the moment of evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Date(Date),
    DateTime(Millis),
    /// The UTC date this many days before now (date fields), or the instant
    /// this many 24-hour days before now (date-time fields).
    DaysAgo(u32),
    /// Like [`Moment::DaysAgo`], after now.
    DaysFromNow(u32),
}

impl Moment {
    /// Returns the offset in days from now of a relative moment, or `None`
    /// for a fixed one.
    pub fn offset_days(self) -> Option<i64> {
        match self {
            Moment::DaysAgo(days) => Some(-i64::from(days)),
            Moment::DaysFromNow(days) => Some(i64::from(days)),
            Moment::Date(_) | Moment::DateTime(_) => None,
        }
    }
}

/// A test on one of the contact's statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusTerm {
    /// The status of the current email address.
    Email(ChannelStatus),
    Newsletter(Subscription),
    /// The staff hold on the cellphone; never [`ChannelStatus::Bounced`].
    Cellphone(ChannelStatus),
    Sms(Subscription),
    /// Whether the contact has at least one push subscription.
    PushSubscribed(bool),
}

/// A length of time in milliseconds, positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Millis);

/// Counts activities of one type inside a window ending now.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityTerm {
    pub kind: ActivityKind,
    /// Properties that must hold exactly these values.
    pub properties: BTreeMap<String, String>,
    /// A pattern the activity's URL path (without the query) must match.
    pub path: Option<PathFilter>,
    pub within: Span,
    pub count: CountTest,
}

/// A compiled path pattern with the text it came from.
#[derive(Clone, Debug)]
pub struct PathFilter {
    pub text: String,
    pub pattern: PathPattern,
}

impl PartialEq for PathFilter {
    fn eq(&self, other: &PathFilter) -> bool {
        self.text == other.text
    }
}

/// A comparison of an activity count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountTest {
    AtLeast(u64),
    AtMost(u64),
    Exactly(u64),
}

/// Time since the newest activity of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinceLastTerm {
    pub kind: ActivityKind,
    pub test: SinceLastTest,
}

/// The test a since-last term applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinceLastTest {
    /// The newest activity is at least this old; `or_never` is the result
    /// for a contact that has none.
    AtLeast { span: Span, or_never: bool },
    /// The newest activity is younger than this; false for a contact that
    /// has none.
    LessThan(Span),
    /// `Never(true)`: the contact has no activity of the type at all;
    /// `Never(false)`: it has at least one.
    Never(bool),
}

/// Compares the sum of purchase amounts in one currency inside a window.
#[derive(Clone, Debug, PartialEq)]
pub struct SpentTerm {
    /// Uppercase currency code, compared with the purchase's `currency`
    /// property uppercased.
    pub currency: String,
    pub within: Span,
    pub test: AmountTest,
}

/// A comparison of an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountTest {
    AtLeast(Decimal),
    AtMost(Decimal),
    MoreThan(Decimal),
    LessThan(Decimal),
}

/// A test on the basket, the cart updates since the newest purchase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasketTerm {
    Empty,
    NotEmpty,
    /// Not empty, and its newest cart update is at least this old.
    AbandonedFor(Span),
}

impl CountTest {
    pub fn accepts(self, count: u64) -> bool {
        match self {
            CountTest::AtLeast(minimum) => count >= minimum,
            CountTest::AtMost(maximum) => count <= maximum,
            CountTest::Exactly(expected) => count == expected,
        }
    }
}

impl AmountTest {
    pub fn accepts(self, amount: Decimal) -> bool {
        match self {
            AmountTest::AtLeast(limit) => amount >= limit,
            AmountTest::AtMost(limit) => amount <= limit,
            AmountTest::MoreThan(limit) => amount > limit,
            AmountTest::LessThan(limit) => amount < limit,
        }
    }
}
