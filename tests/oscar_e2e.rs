//! End to end on a real storefront: the django-oscar shop of
//! `examples/oscar/`, Footprint in front of it with `examples/oscar.toml`,
//! and a private Redis.
//!
//! Shoppers are `reqwest` clients with their own cookie jars, a browser's
//! User-Agent (Footprint treats a missing one as a bot) and no redirect
//! following, so every 302 of the shop is checked as it was sent. Activity
//! is written asynchronously, so the admin API is polled until the expected
//! state appears, with a hang guard instead of fixed sleeps.
//!
//! The shop tests are skipped when `FOOTPRINT_OSCAR_HOME` is unset (see
//! `tests/support/oscar.rs`); `./scripts/test.sh` builds the shop and runs
//! them. The configuration tests need neither the shop nor the binary.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use footprint::config::Config;
use footprint::store::ActivityKind;
use footprint::tracking::PathPattern;
use reqwest::cookie::CookieStore as _;
use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use support::footprint::{free_addr, Footprint, Overrides};
use support::oscar::{repository_root, OscarShop, ENV_OSCAR_HOME};
use support::redis::RedisServer;

/// Firefox 128 on Linux: any User-Agent that no bot pattern matches.
const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// Hang guard for asynchronously written activity to show in the admin API.
const POLL_TIMEOUT: Duration = Duration::from_secs(30);
/// Hang guard for one HTTP request. A login hashes the password, which
/// takes under a second on an idle machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Hang guard for `examples/oscar/smoke.sh`, about 60 requests.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(300);
const PASSWORD: &str = "E2e-Secret-4821";

fn config_path() -> PathBuf {
    repository_root().join("examples/oscar.toml")
}

fn load_config() -> Config {
    let path = config_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    Config::from_toml(&text).unwrap_or_else(|error| panic!("invalid {}: {error}", path.display()))
}

fn print_skip(test: &str) {
    eprintln!("skipped {test}: {ENV_OSCAR_HOME} is not set; `./scripts/test.sh` builds the shop and runs it");
}

/// Returns a unique address, because every shop started from one home shares its
/// user table.
fn fresh_email(label: &str) -> String {
    format!("{label}.{}@example.com", Uuid::now_v7().simple())
}

// ---------------------------------------------------------------- components

/// Redis, the shop and Footprint, stopped in reverse order when dropped.
struct Stack {
    footprint: Footprint,
    _shop: OscarShop,
    _redis: RedisServer,
}

/// Starts the three components, or returns `None` when the shop is not set up.
async fn start_stack() -> Option<Stack> {
    // The shop must trust the proxy's origin before the proxy exists, so the
    // proxy's address is chosen first.
    let listen = free_addr();
    let shop = OscarShop::start_with_trusted_origins(&[format!("http://{listen}")]).await?;
    let redis = RedisServer::start();

    let overrides =
        Overrides { upstream: shop.url(), redis_url: redis.url(), listen: Some(listen), ..Overrides::default() };
    let footprint = Footprint::start(&config_path(), overrides).await;
    Some(Stack { footprint, _shop: shop, _redis: redis })
}

// ---------------------------------------------------------------- shopper

/// One browser: a cookie jar and the site it talks to.
struct Shopper {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
    tracker_cookie: String,
}

/// A response as the shop (or the proxy) sent it.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Shopper {
    fn new(base: &str) -> Shopper {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(BROWSER_USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("cannot build an HTTP client");
        let tracker_cookie = load_config().tracker.cookie_name;
        Shopper { client, jar, base: base.trim_end_matches('/').to_owned(), tracker_cookie }
    }

    async fn get(&self, path: &str) -> Page {
        self.get_with_language(path, None).await
    }

    async fn get_with_language(&self, path: &str, language: Option<&str>) -> Page {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.get(&url);
        if let Some(language) = language {
            request = request.header(ACCEPT_LANGUAGE, language);
        }
        let response = request.send().await.unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
        Page::read(response).await
    }

    /// Posts a urlencoded form the way a browser submits one from the page
    /// at `from_path`: with `Origin` and `Referer`, which Django's CSRF check
    /// and Oscar's redirects read.
    async fn post_form(&self, path: &str, from_path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base);
        let response = self
            .client
            .post(&url)
            .header(ORIGIN, &self.base)
            .header(REFERER, format!("{}{from_path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {url} failed: {error}"));
        Page::read(response).await
    }

    /// Returns the tracker id in this browser's tracker cookie, if it has one.
    ///
    /// The cookie is a `cookie`-crate signed cookie: a base64 MAC of 44
    /// characters followed by the UUID's 36.
    fn tracker(&self) -> Option<Uuid> {
        let value = self.tracker_cookie_value()?;
        let start = value.len().checked_sub(36)?;
        Uuid::parse_str(value.get(start..)?).ok()
    }

    /// Returns the tracker cookie's value as the jar stores it.
    fn tracker_cookie_value(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.base).expect("invalid base URL");
        let header = self.jar.cookies(&url)?;
        let cookies = header.to_str().ok()?;
        cookies.split("; ").find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == self.tracker_cookie).then(|| value.trim_matches('"').to_owned())
        })
    }

    fn expect_tracker(&self, browser: &str) -> Uuid {
        self.tracker()
            .unwrap_or_else(|| panic!("{browser} has no valid `{}` tracker cookie from the proxy", self.tracker_cookie))
    }
}

impl Page {
    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Page { status, headers, body }
    }

    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|value| value.to_str().ok())
    }

    /// Returns whether the response sets cookie `name` to a non-empty value, as
    /// opposed to clearing it with `name=""`.
    fn sets_cookie(&self, name: &str) -> bool {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|value| value.to_str().ok()).any(|cookie| {
            let value = cookie.strip_prefix(name).and_then(|rest| rest.strip_prefix('='));
            let value = value.map(|rest| rest.split(';').next().unwrap_or_default());
            matches!(value, Some(value) if !value.is_empty() && value != "\"\"")
        })
    }

    fn clears_cookie(&self, name: &str) -> bool {
        let cleared = format!("{name}=\"\"");
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|cookie| cookie.starts_with(&cleared))
    }

    /// Returns the first `csrfmiddlewaretoken` of the page's forms. Django masks the
    /// token differently in every render, and any rendered one is valid.
    fn csrf_token(&self) -> String {
        let pattern = regex::Regex::new(r#"name="csrfmiddlewaretoken" value="([^"]+)""#).expect("valid regex");
        pattern
            .captures(&self.body)
            .map(|captures| captures[1].to_owned())
            .expect("the page has no csrfmiddlewaretoken form field")
    }
}

// ---------------------------------------------------------------- admin API

/// Polls `GET <admin>/<path>` until `ready` accepts the response, and
/// returns the JSON body. Panics with the last response after [`POLL_TIMEOUT`].
async fn poll_admin(
    footprint: &Footprint,
    path: &str,
    description: &str,
    ready: impl Fn(StatusCode, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        let (status, body) = footprint.admin_get(path).await;
        if ready(status, &body) {
            return body;
        }
        if Instant::now() > deadline {
            panic!("timed out after {POLL_TIMEOUT:?} waiting for {description}: GET {path} returned {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads a contact's whole timeline, newest first, following `next` cursors.
/// Returns `None` when a page is not 200.
async fn read_activities(footprint: &Footprint, contact_id: &str) -> Option<Vec<Value>> {
    let mut items = Vec::new();
    let mut path = format!("api/v1/contacts/{contact_id}/activities?limit=50");
    loop {
        let (status, page) = footprint.admin_get(&path).await;
        if status != StatusCode::OK {
            return None;
        }
        items.extend(page["items"].as_array()?.iter().cloned());
        match page["next"].as_str() {
            Some(cursor) => path = format!("api/v1/contacts/{contact_id}/activities?limit=50&before={cursor}"),
            None => return Some(items),
        }
    }
}

/// Polls the timeline until `ready` accepts it.
async fn poll_activities(
    footprint: &Footprint,
    contact_id: &str,
    description: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        let items = read_activities(footprint, contact_id).await;
        if let Some(items) = &items {
            if ready(items) {
                return items.clone();
            }
        }
        if Instant::now() > deadline {
            panic!("timed out after {POLL_TIMEOUT:?} waiting for {description}; timeline of {contact_id}: {items:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|item| item["type"] == kind).collect()
}

fn property<'a>(item: &'a Value, name: &str) -> Option<&'a str> {
    item["properties"][name].as_str()
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn counter(contact: &Value, kind: &str) -> u64 {
    contact["counters"][kind].as_u64().unwrap_or(0)
}

/// Registers `email` with [`PASSWORD`] through the registration form of
/// `/accounts/login/`, with the CSRF token of a fresh render of that page.
async fn register(shopper: &Shopper, email: &str) -> Page {
    let login_page = shopper.get("/accounts/login/").await;
    assert_eq!(login_page.status, StatusCode::OK, "GET /accounts/login/");
    let token = login_page.csrf_token();
    shopper
        .post_form(
            "/accounts/login/",
            "/accounts/login/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("registration-email", email),
                ("registration-password1", PASSWORD),
                ("registration-password2", PASSWORD),
                ("registration-redirect_url", ""),
                ("registration_submit", "Register"),
            ],
        )
        .await
}

/// Logs in through the login form of `/accounts/login/`.
async fn log_in(shopper: &Shopper, email: &str, password: &str) -> Page {
    let login_page = shopper.get("/accounts/login/").await;
    assert_eq!(login_page.status, StatusCode::OK, "GET /accounts/login/");
    let token = login_page.csrf_token();
    shopper
        .post_form(
            "/accounts/login/",
            "/accounts/login/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("login-username", email),
                ("login-password", password),
                ("login-redirect_url", ""),
                ("login_submit", "Log In"),
            ],
        )
        .await
}

/// Walks Oscar's checkout from a filled basket to the thank-you page and
/// returns that page. `guest_email` takes the guest gateway of an anonymous
/// shopper; `None` expects a logged-in shopper, whom Oscar sends straight on
/// to the shipping address.
async fn check_out(shopper: &Shopper, guest_email: Option<&str>) -> Page {
    let entry = shopper.get("/checkout/").await;
    match guest_email {
        Some(email) => {
            assert_eq!(entry.status, StatusCode::OK, "guest checkout gateway");
            let token = entry.csrf_token();
            let chosen = shopper
                .post_form(
                    "/checkout/",
                    "/checkout/",
                    &[
                        ("csrfmiddlewaretoken", token.as_str()),
                        ("username", email),
                        ("options", "anonymous"),
                        ("password", ""),
                    ],
                )
                .await;
            assert_eq!(chosen.location(), Some("/checkout/shipping-address/"), "gateway: {}", chosen.body);
        }
        None => {
            assert_eq!(entry.status, StatusCode::FOUND, "checkout entry when logged in");
            assert_eq!(entry.location(), Some("/checkout/shipping-address/"), "checkout entry");
        }
    }

    let address_page = shopper.get("/checkout/shipping-address/").await;
    assert_eq!(address_page.status, StatusCode::OK, "shipping address page");
    let token = address_page.csrf_token();
    let address = shopper
        .post_form(
            "/checkout/shipping-address/",
            "/checkout/shipping-address/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("first_name", "Gus"),
                ("last_name", "Guest"),
                ("line1", "2 Guest Road"),
                ("line4", "Leeds"),
                ("postcode", "LS1 1AA"),
                ("country", "GB"),
            ],
        )
        .await;
    assert_eq!(address.location(), Some("/checkout/shipping-method/"), "address: {}", address.body);

    // This GET stores the only shipping method in the session.
    let method = shopper.get("/checkout/shipping-method/").await;
    assert_eq!(method.location(), Some("/checkout/payment-method/"), "shipping method");
    let payment = shopper.get("/checkout/payment-method/").await;
    assert_eq!(payment.location(), Some("/checkout/payment-details/"), "payment method");
    assert_eq!(shopper.get("/checkout/payment-details/").await.status, StatusCode::OK);

    let preview = shopper.get("/checkout/preview/").await;
    assert_eq!(preview.status, StatusCode::OK, "preview");
    let token = preview.csrf_token();
    let placed = shopper
        .post_form(
            "/checkout/preview/",
            "/checkout/preview/",
            &[("csrfmiddlewaretoken", token.as_str()), ("action", "place_order")],
        )
        .await;
    assert_eq!(placed.location(), Some("/checkout/thank-you/"), "place order: {}", placed.body);

    let thank_you = shopper.get("/checkout/thank-you/").await;
    assert_eq!(thank_you.status, StatusCode::OK, "thank-you page");
    thank_you
}

/// Returns the order number in the thank-you page's title, "Order 100005:
/// confirmation", which is independent of the markup the purchase rule reads.
fn order_number_in_title(page: &Page) -> String {
    let title = regex::Regex::new(r"<title>\s*Order (\S+): confirmation").expect("valid regex");
    title
        .captures(&page.body)
        .map(|captures| captures[1].to_owned())
        .unwrap_or_else(|| panic!("no order number in the thank-you page title:\n{}", page.body))
}

// ---------------------------------------------------------------- tests

/// A shopper browses and registers in one browser, then browses, fills a
/// basket, logs in and orders from a second one. Both browsers' activity
/// ends up on one registered contact, in order. The second browser's
/// anonymous contact is merged into it and resolves to it, and activity after
/// the merge lands on it, even when sent with the tracker cookie from before
/// the merge. The shop works through the proxy at every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopper_journey_merges_into_registered_contact() {
    let Some(stack) = start_stack().await else {
        return print_skip("shopper_journey_merges_into_registered_contact");
    };
    let footprint = &stack.footprint;
    let proxy = footprint.proxy_url();
    let email = fresh_email("e2e");

    // Browser 1: browse anonymously.
    let first = Shopper::new(&proxy);
    let catalogue = first.get("/catalogue/").await;
    assert_eq!(catalogue.status, StatusCode::OK, "GET /catalogue/");
    assert!(catalogue.body.contains("/catalogue/the-django-book_1/"), "catalogue lists product 1");
    let first_tracker = first.expect_tracker("browser 1 after its first page");

    let book = first.get("/catalogue/the-django-book_1/").await;
    assert_eq!(book.status, StatusCode::OK, "GET product 1");
    assert!(book.body.contains(r#"id="add_to_basket_form""#), "product 1 has its basket form");
    assert_eq!(first.get("/catalogue/python-cookbook_2/").await.status, StatusCode::OK);
    let search = first.get("/search/?q=cable").await;
    assert_eq!(search.status, StatusCode::OK, "GET /search/?q=cable");
    assert!(search.body.contains("/catalogue/usb-c-cable_4/"), "search for cable finds product 4");

    // Browser 1: register through the CSRF-protected form, which logs in.
    let registered = register(&first, &email).await;
    assert_eq!(registered.status, StatusCode::FOUND, "registration: {}", registered.body);
    assert_eq!(registered.location(), Some("/accounts/profile/"), "registration redirect");
    assert!(registered.sets_cookie("sessionid"), "registration logs the shopper in");
    let profile = first.get("/accounts/profile/").await;
    assert_eq!(profile.status, StatusCode::OK, "GET /accounts/profile/ after registration");
    assert!(profile.body.contains(&email), "profile page shows the registered email");

    let logout = first.get("/accounts/logout/").await;
    assert_eq!(logout.status, StatusCode::FOUND, "GET /accounts/logout/");
    assert_eq!(logout.location(), Some("/catalogue/"), "logout redirect");
    assert!(logout.clears_cookie("sessionid"), "logout clears the session cookie");
    assert_eq!(first.expect_tracker("browser 1 after logout"), first_tracker);

    // Browser 2: browse and fill a basket anonymously.
    let second = Shopper::new(&proxy);
    assert_eq!(second.get("/catalogue/clean-architecture_3/").await.status, StatusCode::OK);
    let second_tracker = second.expect_tracker("browser 2 after its first page");
    assert_ne!(second_tracker, first_tracker, "each browser gets its own tracker");
    let cable = second.get("/catalogue/usb-c-cable_4/").await;
    assert_eq!(cable.status, StatusCode::OK, "GET product 4");
    let token = cable.csrf_token();
    let added = second
        .post_form(
            "/basket/add/4/",
            "/catalogue/usb-c-cable_4/",
            &[("csrfmiddlewaretoken", token.as_str()), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, StatusCode::FOUND, "POST /basket/add/4/: {}", added.body);
    // Oscar redirects to the Referer; that it names the proxy shows the
    // browser's Host reached the shop.
    let back_to_product = format!("{proxy}/catalogue/usb-c-cable_4/");
    assert_eq!(added.location(), Some(back_to_product.as_str()), "basket add redirect");
    assert!(added.sets_cookie("oscar_open_basket"), "anonymous basket cookie");

    let tracker_path = format!("api/v1/contacts/by-tracker/{second_tracker}");
    let anonymous = poll_admin(footprint, &tracker_path, "browser 2's basket add", |status, body| {
        status == StatusCode::OK && counter(body, "cart_update") >= 1
    })
    .await;
    assert_eq!(anonymous["registered"], false, "browser 2's contact before login: {anonymous}");
    assert_eq!(counter(&anonymous, "product_visit"), 2, "browser 2's contact: {anonymous}");
    let anonymous_id = anonymous["id"].as_str().expect("contact id").to_owned();
    let pre_merge_cookie = second.tracker_cookie_value().expect("browser 2 has a tracker cookie");

    // Browser 2: log in as the registered shopper.
    let logged_in = log_in(&second, &email, PASSWORD).await;
    assert_eq!(logged_in.status, StatusCode::FOUND, "login: {}", logged_in.body);
    assert_eq!(logged_in.location(), Some("/accounts/profile/"), "login redirect");
    assert!(logged_in.sets_cookie("sessionid"), "login sets a session cookie");
    let profile = second.get("/accounts/profile/").await;
    assert_eq!(profile.status, StatusCode::OK, "GET /accounts/profile/ after login");
    assert!(profile.body.contains(&email), "profile page shows the email after login");
    let basket = second.get("/basket/").await;
    assert_eq!(basket.status, StatusCode::OK, "GET /basket/ after login");
    assert!(basket.body.contains("/catalogue/usb-c-cable_4/"), "Oscar kept the anonymous basket");

    // Browser 2: order the basket.
    let thank_you = check_out(&second, None).await;
    let order = order_number_in_title(&thank_you);

    // A copy of browser 2 that kept the tracker cookie from before the merge
    // and ignores every Set-Cookie views one more product.
    let stale = reqwest::Client::builder()
        .no_proxy()
        .user_agent(BROWSER_USER_AGENT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("cannot build an HTTP client");
    let cookie_name = load_config().tracker.cookie_name;
    let mouse = stale
        .get(format!("{proxy}/catalogue/wireless-mouse_5/"))
        .header(reqwest::header::COOKIE, format!("{cookie_name}={pre_merge_cookie}"))
        .send()
        .await
        .expect("GET product 5 with the pre-merge cookie failed");
    assert_eq!(mouse.status(), StatusCode::OK, "GET product 5 with the pre-merge cookie");

    // The registered contact owns both browsers and the merged contact.
    let email_path = format!("api/v1/contacts/by-email/{email}");
    let contact = poll_admin(footprint, &email_path, "the merge into the registered contact", |status, body| {
        status == StatusCode::OK && string_list(&body["merged_from"]).contains(&anonymous_id)
    })
    .await;
    let contact_id = contact["id"].as_str().expect("contact id").to_owned();
    assert_ne!(contact_id, anonymous_id, "the survivor is the registered contact");
    assert_eq!(contact["registered"], true, "contact: {contact}");
    assert_eq!(contact["fields"]["email"], email.as_str(), "contact: {contact}");
    let trackers = string_list(&contact["trackers"]);
    assert!(trackers.contains(&first_tracker.to_string()), "browser 1's tracker: {contact}");
    assert!(trackers.contains(&second_tracker.to_string()), "browser 2's tracker: {contact}");

    for (browser, tracker) in [("browser 1", first_tracker), ("browser 2", second_tracker)] {
        let (status, owner) = footprint.admin_get(&format!("api/v1/contacts/by-tracker/{tracker}")).await;
        assert_eq!(status, StatusCode::OK, "{browser}'s tracker lookup: {owner}");
        assert_eq!(owner["id"], contact_id.as_str(), "{browser}'s tracker resolves to the contact");
    }
    let (status, merged) = footprint.admin_get(&format!("api/v1/contacts/{anonymous_id}")).await;
    assert_eq!(status, StatusCode::OK, "merged contact lookup: {merged}");
    assert_eq!(merged["id"], contact_id.as_str(), "the merged id resolves to the survivor");
    assert_eq!(merged["requested_id"], anonymous_id.as_str(), "the response names the requested id");

    // The timeline contains both browsers' activity once each, in order.
    let items =
        poll_activities(footprint, &contact_id, "login, merge, purchase and the pre-merge cookie's visit", |items| {
            !of_type(items, "login").is_empty()
                && !of_type(items, "merge").is_empty()
                && !of_type(items, "purchase").is_empty()
                && of_type(items, "product_visit").iter().any(|item| property(item, "product_id") == Some("5"))
        })
        .await;

    let product_visits = of_type(&items, "product_visit");
    let visited: Vec<&str> = product_visits.iter().filter_map(|item| property(item, "product_id")).collect();
    assert_eq!(visited.len(), 5, "product visits: {product_visits:#?}");
    assert_eq!(
        visited.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["1", "2", "3", "4", "5"]),
        "visited product ids"
    );
    let cable_visit = product_visits.iter().find(|item| property(item, "product_id") == Some("4"));
    assert_eq!(cable_visit.map(|item| &item["url"]), Some(&Value::from("/catalogue/usb-c-cable_4/")));

    let searches = of_type(&items, "search");
    assert_eq!(searches.len(), 1, "searches: {searches:#?}");
    assert_eq!(property(searches[0], "term"), Some("cable"), "search term");

    let cart_updates = of_type(&items, "cart_update");
    assert_eq!(cart_updates.len(), 1, "cart updates: {cart_updates:#?}");
    assert_eq!(property(cart_updates[0], "product_id"), Some("4"), "cart update product");

    assert_eq!(of_type(&items, "registration").len(), 1, "one registration");
    assert_eq!(of_type(&items, "login").len(), 1, "one login");
    let merges = of_type(&items, "merge");
    assert_eq!(merges.len(), 1, "merges: {merges:#?}");
    assert_eq!(property(merges[0], "merged_contact"), Some(anonymous_id.as_str()), "merged contact");
    let purchases = of_type(&items, "purchase");
    assert_eq!(purchases.len(), 1, "purchases: {purchases:#?}");
    assert_eq!(property(purchases[0], "order_id"), Some(order.as_str()), "order number");

    // Newest first by time, and the journey's steps in the order they happened.
    let times: Vec<time::OffsetDateTime> = items
        .iter()
        .map(|item| {
            let at = item["at"].as_str().expect("activity time");
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|error| panic!("activity time {at:?} is not RFC 3339: {error}"))
        })
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "timeline is newest first: {times:?}");
    let position = |kind: &str, key: Option<(&str, &str)>| {
        items
            .iter()
            .rposition(|item| {
                item["type"] == kind && key.is_none_or(|(name, value)| property(item, name) == Some(value))
            })
            .unwrap_or_else(|| panic!("no {kind} {key:?} in the timeline"))
    };
    let journey = [
        position("product_visit", Some(("product_id", "1"))),
        position("product_visit", Some(("product_id", "2"))),
        position("search", None),
        position("registration", None),
        position("product_visit", Some(("product_id", "3"))),
        position("product_visit", Some(("product_id", "4"))),
        position("cart_update", None),
        position("login", None),
        position("purchase", None),
        position("product_visit", Some(("product_id", "5"))),
    ];
    assert!(journey.windows(2).all(|pair| pair[0] > pair[1]), "journey order (newest-first indexes): {journey:?}");

    let contact =
        poll_admin(footprint, &format!("api/v1/contacts/{contact_id}"), "combined counters", |status, body| {
            status == StatusCode::OK && counter(body, "purchase") >= 1 && counter(body, "product_visit") >= 5
        })
        .await;
    assert_eq!(counter(&contact, "product_visit"), 5, "counters: {contact}");
    assert_eq!(counter(&contact, "search"), 1, "counters: {contact}");
    assert_eq!(counter(&contact, "cart_update"), 1, "counters: {contact}");
    assert_eq!(counter(&contact, "registration"), 1, "counters: {contact}");
    assert_eq!(counter(&contact, "login"), 1, "counters: {contact}");
    assert_eq!(counter(&contact, "purchase"), 1, "counters: {contact}");
    assert_eq!(contact["ecommerce"]["orders"], 1, "ecommerce: {contact}");
    assert_eq!(
        contact["ecommerce"]["spent"],
        serde_json::json!([{"currency": "GBP", "amount": "9.99"}]),
        "one USB-C cable at £9.99 with free shipping"
    );
    assert_eq!(contact["ecommerce"]["basket"], Value::Null, "the order emptied the basket");

    // Shown with `--nocapture`: what the admin API holds for this shopper.
    eprintln!("registered contact: {contact:#}");
    let timeline: Vec<String> = items
        .iter()
        .map(|item| format!("{} {} {} {}", item["at"], item["type"], item["url"], item["properties"]))
        .collect();
    eprintln!("timeline, newest first:\n{}", timeline.join("\n"));
}

/// The newsletter plugin on Oscar's profile edit form: a rejected edit
/// changes nothing, and an accepted one stores the first name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_edit_captures_plugin_fields() {
    support::plugins::example("newsletter");
    let Some(stack) = start_stack().await else {
        return print_skip("profile_edit_captures_plugin_fields");
    };
    let footprint = &stack.footprint;
    let shopper = Shopper::new(&footprint.proxy_url());
    let email = fresh_email("profile");

    let registered = register(&shopper, &email).await;
    assert_eq!(registered.status, StatusCode::FOUND, "registration: {}", registered.body);
    let contact =
        poll_admin(footprint, &format!("api/v1/contacts/by-email/{email}"), "the registered contact", |status, _| {
            status == StatusCode::OK
        })
        .await;
    assert!(contact["fields"]["first_name"].is_null(), "no first name before the edit: {contact}");

    // Oscar rejects a malformed email with 200 and the form's errors.
    let edit_page = shopper.get("/accounts/profile/edit/").await;
    assert_eq!(edit_page.status, StatusCode::OK, "GET /accounts/profile/edit/");
    let rejected_fields = [
        ("csrfmiddlewaretoken", edit_page.csrf_token()),
        ("first_name", "Rejected".to_owned()),
        ("last_name", "Edit".to_owned()),
        ("email", "not-an-address".to_owned()),
    ];
    let rejected_fields: Vec<(&str, &str)> =
        rejected_fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let rejected = shopper.post_form("/accounts/profile/edit/", "/accounts/profile/edit/", &rejected_fields).await;
    assert_eq!(rejected.status, StatusCode::OK, "a malformed email is rejected");

    let edit_page = shopper.get("/accounts/profile/edit/").await;
    let token = edit_page.csrf_token();
    let accepted = shopper
        .post_form(
            "/accounts/profile/edit/",
            "/accounts/profile/edit/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", email.as_str()),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::FOUND, "profile edit: {}", accepted.body);
    assert_eq!(accepted.location(), Some("/accounts/profile/"), "profile edit redirect");

    let contact = poll_admin(
        footprint,
        &format!("api/v1/contacts/by-email/{email}"),
        "the captured first name",
        |status, body| status == StatusCode::OK && !body["fields"]["first_name"].is_null(),
    )
    .await;
    assert_eq!(contact["fields"]["first_name"], "Ada", "the accepted edit's first name, not the rejected one");
    assert_eq!(contact["fields"]["email"], email.as_str());
    assert!(contact["fields"]["last_name"].is_null(), "the newsletter plugin reads no last name: {contact}");
}

/// The profile plugin on Oscar's shipping address form: the address's
/// phone number becomes the contact's cellphone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_address_captures_cellphone() {
    support::plugins::example("profile");
    let Some(stack) = start_stack().await else {
        return print_skip("shipping_address_captures_cellphone");
    };
    let footprint = &stack.footprint;
    let shopper = Shopper::new(&footprint.proxy_url());
    let email = fresh_email("address");

    let registered = register(&shopper, &email).await;
    assert_eq!(registered.status, StatusCode::FOUND, "registration: {}", registered.body);
    let product = shopper.get("/catalogue/usb-c-cable_4/").await;
    let token = product.csrf_token();
    let added = shopper
        .post_form(
            "/basket/add/4/",
            "/catalogue/usb-c-cable_4/",
            &[("csrfmiddlewaretoken", token.as_str()), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, StatusCode::FOUND, "basket add: {}", added.body);
    let entry = shopper.get("/checkout/").await;
    assert_eq!(entry.location(), Some("/checkout/shipping-address/"), "checkout entry when logged in");

    let address_page = shopper.get("/checkout/shipping-address/").await;
    assert_eq!(address_page.status, StatusCode::OK, "shipping address page");
    let token = address_page.csrf_token();
    let address = shopper
        .post_form(
            "/checkout/shipping-address/",
            "/checkout/shipping-address/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("line1", "12 St James's Square"),
                ("line4", "London"),
                ("postcode", "SW1Y 4JH"),
                ("country", "GB"),
                ("phone_number", "+44 7911 123456"),
            ],
        )
        .await;
    assert_eq!(address.location(), Some("/checkout/shipping-method/"), "address: {}", address.body);

    let contact = poll_admin(
        footprint,
        &format!("api/v1/contacts/by-email/{email}"),
        "the captured cellphone",
        |status, body| status == StatusCode::OK && !body["fields"]["cellphone"].is_null(),
    )
    .await;
    assert_eq!(contact["fields"]["cellphone"], "+447911123456", "{contact}");
}

/// Two registered shoppers log in one after the other on one browser. They
/// stay two contacts, the tracker moves to the second one, and what the
/// second one views is recorded for them only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_browser_keeps_accounts_apart() {
    let Some(stack) = start_stack().await else {
        return print_skip("shared_browser_keeps_accounts_apart");
    };
    let footprint = &stack.footprint;
    let first_email = fresh_email("shared");
    // Seeded by examples/oscar/setup.sh.
    let second_email = "customer@example.com";

    let browser = Shopper::new(&footprint.proxy_url());
    assert_eq!(browser.get("/catalogue/").await.status, StatusCode::OK);
    let tracker = browser.expect_tracker("the browser after its first page");

    let registered = register(&browser, &first_email).await;
    assert_eq!(registered.status, StatusCode::FOUND, "registration: {}", registered.body);
    assert!(registered.sets_cookie("sessionid"), "registration logs the first shopper in");
    let logout = browser.get("/accounts/logout/").await;
    assert_eq!(logout.location(), Some("/catalogue/"), "logout redirect");

    let logged_in = log_in(&browser, second_email, "CustomerPass-123").await;
    assert_eq!(logged_in.status, StatusCode::FOUND, "login: {}", logged_in.body);
    assert!(logged_in.sets_cookie("sessionid"), "login sets a session cookie");
    let mouse = browser.get("/catalogue/wireless-mouse_5/").await;
    assert_eq!(mouse.status, StatusCode::OK, "GET product 5");
    assert_eq!(browser.expect_tracker("the browser after both logins"), tracker);

    let second = poll_admin(
        footprint,
        &format!("api/v1/contacts/by-email/{second_email}"),
        "the second shopper's product visit",
        |status, body| status == StatusCode::OK && counter(body, "product_visit") >= 1,
    )
    .await;
    let (status, first) = footprint.admin_get(&format!("api/v1/contacts/by-email/{first_email}")).await;
    assert_eq!(status, StatusCode::OK, "first shopper lookup: {first}");
    let first_id = first["id"].as_str().expect("contact id").to_owned();
    let second_id = second["id"].as_str().expect("contact id").to_owned();
    assert_ne!(first_id, second_id, "two registered shoppers stay two contacts");
    assert_eq!(first["registered"], true, "first contact: {first}");
    assert_eq!(second["registered"], true, "second contact: {second}");
    assert!(string_list(&second["merged_from"]).is_empty(), "no merge into the second contact: {second}");
    assert!(string_list(&first["merged_from"]).is_empty(), "no merge into the first contact: {first}");

    let (status, owner) = footprint.admin_get(&format!("api/v1/contacts/by-tracker/{tracker}")).await;
    assert_eq!(status, StatusCode::OK, "tracker lookup: {owner}");
    assert_eq!(owner["id"], second_id.as_str(), "the tracker follows the last login");
    assert!(string_list(&second["trackers"]).contains(&tracker.to_string()), "second contact's trackers: {second}");
    assert!(
        !string_list(&first["trackers"]).contains(&tracker.to_string()),
        "the tracker no longer links to the first contact: {first}"
    );

    let second_items = poll_activities(footprint, &second_id, "the second shopper's login", |items| {
        !of_type(items, "login").is_empty()
    })
    .await;
    let second_visits = of_type(&second_items, "product_visit");
    assert_eq!(second_visits.len(), 1, "second shopper's product visits: {second_visits:#?}");
    assert_eq!(property(second_visits[0], "product_id"), Some("5"), "viewed product");
    assert!(of_type(&second_items, "registration").is_empty(), "the registration is the first shopper's");

    let first_items = read_activities(footprint, &first_id).await.expect("first shopper's timeline");
    assert_eq!(of_type(&first_items, "registration").len(), 1, "first shopper's registration");
    assert!(of_type(&first_items, "login").is_empty(), "the login is the second shopper's");
    assert!(of_type(&first_items, "product_visit").is_empty(), "the product view is the second shopper's only");
}

/// The kit's own shopper walk (browse, register, log in, two checkouts)
/// passes through the proxy, and its logged-in order is recorded as a
/// purchase with the order number from the thank-you page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_passes_through_proxy() {
    let Some(stack) = start_stack().await else {
        return print_skip("smoke_script_passes_through_proxy");
    };
    let email = fresh_email("smoke");

    let run = tokio::process::Command::new(repository_root().join("examples/oscar/smoke.sh"))
        .env("BASE", stack.footprint.proxy_url())
        .env("SMOKE_EMAIL", &email)
        .env("SMOKE_USER_AGENT", BROWSER_USER_AGENT)
        .env_remove("OSCAR_PORT")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SMOKE_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("smoke.sh did not finish within {SMOKE_TIMEOUT:?}"))
        .expect("cannot run examples/oscar/smoke.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "smoke.sh through the proxy failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "smoke.sh summary:\n{stdout}");

    // Summary line: "user <email>, orders <n> (logged in) and <n> (guest); ..."
    let summary = regex::Regex::new(r"user (\S+), orders (\S+) \(logged in\)").expect("valid regex");
    let captures = summary.captures(&stdout).unwrap_or_else(|| panic!("no summary line:\n{stdout}"));
    assert_eq!(&captures[1], email, "smoke.sh registered the given email");
    let order = captures[2].to_owned();

    let contact = poll_admin(
        &stack.footprint,
        &format!("api/v1/contacts/by-email/{email}"),
        "the smoke shopper's contact",
        |status, body| status == StatusCode::OK && counter(body, "purchase") >= 1,
    )
    .await;
    assert_eq!(contact["registered"], true, "contact: {contact}");
    let contact_id = contact["id"].as_str().expect("contact id");
    let items =
        poll_activities(&stack.footprint, contact_id, "the purchase", |items| !of_type(items, "purchase").is_empty())
            .await;
    let purchases = of_type(&items, "purchase");
    assert_eq!(purchases.len(), 1, "purchases: {purchases:#?}");
    assert_eq!(property(purchases[0], "order_id"), Some(order.as_str()), "order number");
    assert_eq!(purchases[0]["url"], "/checkout/thank-you/", "purchase url");
}

/// The purchase rule's `response_body` pattern reads the order number from
/// the thank-you page the shop really renders, in English and in German.
/// Runs against the shop directly, without Footprint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_pattern_reads_thank_you_page() {
    let Some(shop) = OscarShop::start().await else {
        return print_skip("purchase_pattern_reads_thank_you_page");
    };
    let config = load_config();
    let rule = config
        .activities
        .iter()
        .find(|rule| rule.kind == ActivityKind::Purchase)
        .expect("examples/oscar.toml has a purchase rule");
    let pattern = regex::Regex::new(&rule.response_body["order_id"]).expect("valid order_id pattern");
    let amount_pattern = regex::Regex::new(&rule.response_body["amount"]).expect("valid amount pattern");
    assert_eq!(rule.properties.get("currency").map(String::as_str), Some("GBP"));

    // A guest checkout, the shortest way to a thank-you page.
    let guest = Shopper::new(&shop.url());
    let product = guest.get("/catalogue/wireless-mouse_5/").await;
    assert_eq!(product.status, StatusCode::OK, "GET product 5");
    let token = product.csrf_token();
    let added = guest
        .post_form(
            "/basket/add/5/",
            "/catalogue/wireless-mouse_5/",
            &[("csrfmiddlewaretoken", token.as_str()), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, StatusCode::FOUND, "basket add");
    check_out(&guest, Some("guest@example.com")).await;

    // The order-status link names the order independently of the lead
    // paragraph the rule reads.
    let link = regex::Regex::new(r#"href="/accounts/order-status/([^/"]+)/"#).expect("valid regex");
    for language in ["en-gb", "de"] {
        let thank_you = guest.get_with_language("/checkout/thank-you/", Some(language)).await;
        assert_eq!(thank_you.status, StatusCode::OK, "thank-you page in {language}");
        assert!(
            thank_you.body.len() <= config.proxy.response_inspect_bytes,
            "the thank-you page fits in proxy.response_inspect_bytes"
        );

        let expected = link
            .captures(&thank_you.body)
            .map(|captures| captures[1].to_owned())
            .expect("the guest thank-you page links to the order status");
        let captured = pattern.captures(&thank_you.body).map(|captures| captures[1].to_owned());
        assert_eq!(captured, Some(expected), "order_id read from the {language} thank-you page");

        let amount = amount_pattern.captures(&thank_you.body).map(|captures| captures[1].to_owned());
        let parsed = amount.as_deref().and_then(footprint::ecommerce::parse_amount).map(|amount| amount.to_string());
        assert_eq!(parsed.as_deref(), Some("24.95"), "order total read from the {language} thank-you page: {amount:?}");
    }
}

/// `examples/oscar.toml` parses, passes validation with secrets from the
/// environment, and lists its rules in first-match order.
#[test]
fn oscar_config_is_valid_and_ordered() {
    let mut config = load_config();
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]);
    config
        .apply_env(|name| match name {
            "FOOTPRINT_TRACKER_KEYS" => Some(key.clone()),
            "FOOTPRINT_ADMIN_TOKENS" => Some("test:0123456789abcdef0123456789abcdef".to_owned()),
            _ => None,
        })
        .expect("environment overrides apply");
    config.validate().expect("examples/oscar.toml is valid");

    let kinds: Vec<ActivityKind> = config.activities.iter().map(|rule| rule.kind).collect();
    assert_eq!(
        kinds,
        [
            ActivityKind::ProductVisit,
            ActivityKind::Search,
            ActivityKind::CartUpdate,
            ActivityKind::CartUpdate,
            ActivityKind::Purchase,
            ActivityKind::PageVisit,
        ],
        "the catch-all page visit comes last"
    );
    let identify: Vec<(&str, &str)> =
        config.identify_forms.iter().map(|rule| (rule.path.as_str(), rule.email_field.as_str())).collect();
    assert_eq!(
        identify,
        [
            ("/accounts/login/", "login-username"),
            ("/accounts/login/", "registration-email"),
            ("/accounts/register/", "email"),
        ]
    );
    assert_eq!(config.tracker.static_prefixes, ["/static/", "/media/"]);
}

/// The product rule matches product pages and captures the id, but not
/// category pages, whose extra segment a placeholder cannot span.
#[test]
fn product_rule_skips_category_pages() {
    let config = load_config();
    let rule = config
        .activities
        .iter()
        .find(|rule| rule.kind == ActivityKind::ProductVisit)
        .expect("examples/oscar.toml has a product visit rule");
    let pattern = PathPattern::parse(&rule.path).expect("valid product pattern");

    let captures = pattern.captures("/catalogue/the-django-book_1/").expect("product page matches");
    assert_eq!(captures.get("product_id").map(String::as_str), Some("1"));
    assert_eq!(captures.get("slug").map(String::as_str), Some("the-django-book"));
    assert!(pattern.captures("/catalogue/category/books_1/").is_none(), "category page");
    assert!(pattern.captures("/catalogue/").is_none(), "catalogue page");
    assert!(pattern.captures("/catalogue/the-django-book_1/reviews/add/").is_none(), "review form");
}
