//! Footprint: a reverse proxy in front of a storefront that turns every
//! browser into a contact and records its activity, without any change to
//! the shop.
//!
//! # Layout
//!
//! - [`config`]: the TOML configuration, environment overrides, validation.
//! - [`proxy`]: HTTP/1.1 forwarding: headers, streamed bodies, upgrades,
//!   upstream errors. Footprint's decisions enter through its
//!   [`proxy::Hooks`].
//! - [`tracking`]: the hooks: tracker cookie, bot and static-asset filter,
//!   activity and identify rules.
//! - [`recorder`]: the bounded queue and the writer task that applies
//!   events to the store off the request path.
//! - [`identity`]: which contact a browser is; identification by email;
//!   merging anonymous contacts into registered ones.
//! - [`status`]: email, newsletter, cellphone and SMS statuses: bounce
//!   rules, email events, staff edits.
//! - [`custom`]: custom contact fields: checking definitions and values.
//! - [`segments`]: segment definitions (static, dynamic, dynamic plus)
//!   and the condition language of dynamic segments.
//! - [`standard_fields`]: the standard contact fields and their checks.
//! - [`plugins`]: field-capture plugins and how their captures are applied.
//! - [`store`]: the storage trait and its Redis and embedded
//!   implementations.
//! - [`transfer`]: contact imports and exports: CSV and NDJSON rows read,
//!   mapped and checked into contact values, and contacts and activities
//!   written as rows, streamed in bounded memory; the background jobs
//!   that run them.
//! - [`admin`]: the admin API (the contacts list, contact edits, timelines,
//!   health, metrics).
//! - [`app`]: starts and stops all of the above together.
//! - [`demo`]: the built-in demo shop and `footprint demo`.
//! - [`cli`]: command-line tools for plugin authors (`footprint plugin new`
//!   and `footprint plugin test`), and `footprint import` and
//!   `footprint export`, which are clients of a running admin API.
//!
//! # A request's lifecycle
//!
//! ```text
//!  browser ──► 1 accept ──► 2 identify browser ──► 3 classify ──► 4 forward ──► shop
//!                                                                     │
//!  browser ◄── 6 respond (identify header out, tracker cookie in) ◄───┘
//!                 │
//!                 └─► 7 record: queue ──► writer ──► store (bind, merge, append)
//! ```
//!
//! 1. **Accept** ([`proxy`]): one span per connection, header read timeout,
//!    body size cap.
//! 2. **Identify the browser** ([`tracking::Tracking`]): read the signed
//!    tracker cookie; mint a tracker when it is missing or invalid. Static
//!    assets and bots are skipped here and only counted.
//! 3. **Classify**: find the activity and identify rules whose method and
//!    path match; ask the proxy to copy a bounded prefix of the form body
//!    when a rule needs its fields.
//! 4. **Forward** ([`proxy`]): stream the request to the shop, copying the
//!    prefix as it passes; hop-by-hop headers removed, forwarding headers
//!    appended.
//! 5. **Capture** ([`tracking::Tracking`]): on a plugin route, the copied
//!    prefix is parsed (urlencoded, multipart or JSON) as soon as the body
//!    has passed, and the route's plugins run in a spawned task while the
//!    shop prepares its response.
//! 6. **Respond**: note status, `Location` and cookies set (the success
//!    conditions), remove the shop's identify header, add the tracker's
//!    `Set-Cookie`, and stream the body to the browser.
//! 7. **Record** ([`recorder`]): once both bodies are done, a task selects
//!    the rules that apply and queues events without waiting. A plugin's
//!    capture is queued only when the shop's response matches the route's
//!    success condition. The writer
//!    resolves trackers to contacts, identifies and merges ([`identity`]),
//!    and appends activities to the [`store`]. Nothing in this phase can
//!    delay or fail the shopper's response.
// Unsafe code is denied everywhere but loading cached compiled plugins,
// whose safety argument is at that spot (`plugins::cache`).
#![deny(unsafe_code)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod custom;
pub mod demo;
pub mod ecommerce;
pub mod identity;
pub mod plugins;
pub mod proxy;
pub mod recorder;
pub mod segments;
pub mod standard_fields;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod tracking;
pub mod transfer;
