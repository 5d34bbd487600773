//! The ecommerce status of a contact: orders, amount spent and the current
//! basket, derived from its recorded cart and purchase activities.
//!
//! Nothing is stored besides the activities: the summary is computed when a
//! profile is read, so it is current by construction, merges combine it
//! (a merged contact's activities are the survivor's), and erasure leaves
//! nothing behind. Reading it costs one pass over the contact's purchase
//! and cart activities, which retention bounds.
//!
//! Properties read, as activity rules capture them:
//!
//! - purchase: `order_id`, `amount` (text such as `£1,234.50` or
//!   `34,50 €`), `currency` (usually a fixed property of the rule);
//! - cart update: `product_id`, `quantity` (default 1), `price` (per item,
//!   optional), `action`: `add` (default), `set` or `remove`.
//!
//! A purchase empties the basket: the basket is the cart updates after the
//! newest purchase.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::store::{Activity, ActivityKind, ActivityQuery, Millis, Source, Store, StoreError};

/// Activities read per store call.
const PAGE: usize = 500;

/// A contact's ecommerce status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ecommerce {
    /// Purchases recorded (each order once).
    pub orders: u64,
    /// Amount spent per currency, over purchases that carried an amount.
    pub spent: Vec<Money>,
    /// The current basket; `None` when empty.
    pub basket: Option<Basket>,
}

/// An amount in one currency; `currency` is empty when the rule gave none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Money {
    pub currency: String,
    /// Decimal text, e.g. `"54.49"`.
    pub amount: String,
}

/// The items in the basket since the last purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Basket {
    pub items: Vec<BasketItem>,
    /// Sum of price × quantity, when every item has a price.
    pub value: Option<String>,
    /// Time of the newest cart update, in milliseconds.
    #[serde(skip)]
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BasketItem {
    pub product_id: String,
    pub quantity: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
}

/// Reads the purchases and cart updates of `sources` and summarises them.
pub async fn summarise(store: &dyn Store, sources: &[Source]) -> Result<Ecommerce, StoreError> {
    let kinds = [ActivityKind::Purchase, ActivityKind::CartUpdate].into_iter().collect();
    let mut query = ActivityQuery { limit: PAGE, kinds, ..ActivityQuery::default() };
    let mut newest_first = Vec::new();
    loop {
        let page = store.activities(sources, &query).await?;
        newest_first.extend(page.items.into_iter().map(|stored| stored.activity));
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    Ok(summarise_activities(&newest_first))
}

/// Summarises activities given newest first.
pub fn summarise_activities(newest_first: &[Activity]) -> Ecommerce {
    let purchases: Vec<&Activity> = newest_first.iter().filter(|a| a.kind == ActivityKind::Purchase).collect();

    let mut spent: BTreeMap<String, Decimal> = BTreeMap::new();
    for purchase in &purchases {
        if let Some(amount) = purchase.properties.get("amount").and_then(|text| parse_amount(text)) {
            let currency = purchase.properties.get("currency").cloned().unwrap_or_default().to_uppercase();
            *spent.entry(currency).or_default() += amount;
        }
    }

    let since_last_purchase: Vec<&Activity> = newest_first
        .iter()
        .take_while(|activity| activity.kind != ActivityKind::Purchase)
        .filter(|activity| activity.kind == ActivityKind::CartUpdate)
        .collect();

    Ecommerce {
        orders: purchases.len() as u64,
        spent: spent.into_iter().map(|(currency, amount)| Money { currency, amount: amount.to_string() }).collect(),
        basket: basket(&since_last_purchase),
    }
}

/// Replays cart updates (given newest first) oldest first.
fn basket(newest_first: &[&Activity]) -> Option<Basket> {
    let updated_at = newest_first.first()?.at;
    let mut items: Vec<BasketItem> = Vec::new();

    for update in newest_first.iter().rev() {
        let Some(product_id) = update.properties.get("product_id") else {
            continue;
        };
        let quantity = update.properties.get("quantity").and_then(|q| q.trim().parse::<u64>().ok());
        let price = update.properties.get("price").and_then(|p| parse_amount(p)).map(|p| p.to_string());
        let position = items.iter().position(|item| &item.product_id == product_id);

        match (update.properties.get("action").map(String::as_str).unwrap_or("add"), position) {
            ("remove", Some(index)) => {
                items.remove(index);
            }
            ("set", Some(index)) => items[index].quantity = quantity.unwrap_or(1),
            ("remove", None) => {}
            (_, Some(index)) => items[index].quantity += quantity.unwrap_or(1),
            (_, None) => {
                items.push(BasketItem { product_id: product_id.clone(), quantity: quantity.unwrap_or(1), price: None })
            }
        }
        if let (Some(price), Some(item)) = (price, items.iter_mut().find(|item| &item.product_id == product_id)) {
            item.price = Some(price);
        }
        items.retain(|item| item.quantity > 0);
    }

    if items.is_empty() {
        return None;
    }
    let value = items
        .iter()
        .map(|item| {
            item.price.as_deref().and_then(|p| Decimal::from_str(p).ok()).map(|p| p * Decimal::from(item.quantity))
        })
        .sum::<Option<Decimal>>()
        .map(|value| value.to_string());
    Some(Basket { items, value, updated_at })
}

/// Parses an amount as shops print it, ignoring currency signs and spaces.
/// When both `.` and `,` appear, the last one is the decimal separator and
/// the other groups thousands. A lone separator is decimal only when one or
/// two digits follow it. Returns `None` when no digits remain.
pub fn parse_amount(text: &str) -> Option<Decimal> {
    let kept: String = text.chars().filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-')).collect();
    let kept = kept.trim_matches(|c| c == '.' || c == ',');
    if !kept.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }

    let decimal_separator = match (kept.rfind('.'), kept.rfind(',')) {
        (Some(dot), Some(comma)) => Some(if dot > comma { '.' } else { ',' }),
        (Some(position), None) | (None, Some(position)) => {
            let separator = kept.as_bytes()[position] as char;
            let digits_after = kept.len() - position - 1;
            let single = kept.matches(separator).count() == 1;
            (single && (1..=2).contains(&digits_after)).then_some(separator)
        }
        (None, None) => None,
    };

    let normalised: String = kept
        .chars()
        .filter_map(|c| match c {
            '.' | ',' if Some(c) == decimal_separator => Some('.'),
            '.' | ',' => None,
            other => Some(other),
        })
        .collect();
    Decimal::from_str(&normalised).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(kind: ActivityKind, at: Millis, properties: &[(&str, &str)]) -> Activity {
        Activity {
            at,
            kind,
            url: String::new(),
            referrer: None,
            properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn amounts_parse_as_shops_print_them() {
        let cases = [
            ("£34.50", "34.50"),
            ("34,50 €", "34.50"),
            ("1,234.56", "1234.56"),
            ("1.234,56", "1234.56"),
            ("1,234", "1234"),
            ("EUR 10", "10"),
            ("9.9", "9.9"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_amount(text), Decimal::from_str(expected).ok(), "{text}");
        }
        assert_eq!(parse_amount("free"), None);
        assert_eq!(parse_amount(""), None);
    }

    #[test]
    fn basket_replays_adds_sets_and_removes() {
        let newest_first = [
            activity(ActivityKind::CartUpdate, 5, &[("product_id", "c"), ("action", "remove")]),
            activity(ActivityKind::CartUpdate, 4, &[("product_id", "a"), ("quantity", "3"), ("action", "set")]),
            activity(ActivityKind::CartUpdate, 3, &[("product_id", "c"), ("price", "1.00")]),
            activity(ActivityKind::CartUpdate, 2, &[("product_id", "b"), ("quantity", "2"), ("price", "5.25")]),
            activity(ActivityKind::CartUpdate, 1, &[("product_id", "a"), ("price", "10")]),
        ];

        let summary = summarise_activities(&newest_first);

        let basket = summary.basket.expect("a basket");
        let items: Vec<(&str, u64)> = basket.items.iter().map(|i| (i.product_id.as_str(), i.quantity)).collect();
        assert_eq!(items, vec![("a", 3), ("b", 2)]);
        assert_eq!(basket.value.as_deref(), Some("40.50"));
        assert_eq!(basket.updated_at, 5);
    }

    #[test]
    fn purchase_empties_the_basket_and_counts_spending() {
        let newest_first = [
            activity(ActivityKind::Purchase, 4, &[("order_id", "2"), ("amount", "€20,00"), ("currency", "eur")]),
            activity(ActivityKind::CartUpdate, 3, &[("product_id", "a")]),
            activity(ActivityKind::Purchase, 2, &[("order_id", "1"), ("amount", "10.5"), ("currency", "EUR")]),
            activity(ActivityKind::Purchase, 1, &[("order_id", "0")]),
        ];

        let summary = summarise_activities(&newest_first);

        assert_eq!(summary.orders, 3);
        assert_eq!(summary.spent, vec![Money { currency: "EUR".to_owned(), amount: "30.50".to_owned() }]);
        assert_eq!(summary.basket, None);
    }

    #[test]
    fn basket_without_prices_has_no_value() {
        let newest_first = [activity(ActivityKind::CartUpdate, 1, &[("product_id", "a")])];
        let basket = summarise_activities(&newest_first).basket.expect("a basket");
        assert_eq!(basket.value, None);
    }
}
