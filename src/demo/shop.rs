//! A small storefront for the demo and the tests: home, categories,
//! product pages, search, a cart, checkout with a confirmation page, login,
//! registration, logout, an account page, a newsletter form and a profile
//! form (see [`super::forms`]).
//!
//! It keeps everything in memory and contains no Footprint code: it is the
//! unchanged shop that Footprint is put in front of.
//! Sessions live in a `shop_session` cookie whose id changes at login, as
//! in most real shops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::forms;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "shop_session";

/// A seeded customer account.
pub const DEMO_CUSTOMER: (&str, &str) = ("customer@example.com", "demo-pass-123");

struct Product {
    id: &'static str,
    name: &'static str,
    category: &'static str,
    price_cents: u32,
}

const PRODUCTS: &[Product] = &[
    Product { id: "sku-1", name: "Trail running shoes", category: "shoes", price_cents: 8900 },
    Product { id: "sku-2", name: "Road running shoes", category: "shoes", price_cents: 7900 },
    Product { id: "sku-3", name: "Yoga mat", category: "yoga", price_cents: 2500 },
    Product { id: "sku-4", name: "Yoga blocks (pair)", category: "yoga", price_cents: 1500 },
    Product { id: "sku-5", name: "Cycling gloves", category: "cycling", price_cents: 1900 },
    Product { id: "sku-6", name: "Bike bottle", category: "cycling", price_cents: 900 },
];

const CATEGORIES: &[&str] = &["shoes", "yoga", "cycling"];

#[derive(Default)]
struct Session {
    user: Option<String>,
    /// Product id and quantity, in the order added.
    cart: Vec<(String, u32)>,
}

#[derive(Default)]
struct ShopData {
    sessions: HashMap<String, Session>,
    /// Email (lowercased) to password.
    users: HashMap<String, String>,
    next_order: u64,
    /// Order number to total, in cents.
    orders: HashMap<u64, u32>,
}

/// The shop's state, shared by its handlers.
#[derive(Clone)]
pub struct Shop {
    data: Arc<Mutex<ShopData>>,
}

impl Default for Shop {
    fn default() -> Self {
        Shop::new()
    }
}

impl Shop {
    pub fn new() -> Shop {
        let mut data = ShopData { next_order: 1001, ..ShopData::default() };
        data.users.insert(DEMO_CUSTOMER.0.to_owned(), DEMO_CUSTOMER.1.to_owned());
        Shop { data: Arc::new(Mutex::new(data)) }
    }

    /// Builds the shop's router.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/category/{slug}", get(category))
            .route("/product/{id}", get(product))
            .route("/search", get(search))
            .route("/cart", get(cart))
            .route("/cart/add", post(cart_add))
            .route("/checkout", get(checkout_form).post(checkout))
            .route("/checkout/confirmation/{order}", get(confirmation))
            .route("/login", get(login_form).post(login))
            .route("/register", get(register_form).post(register))
            .route("/logout", get(logout))
            .route("/account", get(account))
            .route("/newsletter", get(newsletter_page).post(forms::newsletter))
            .route("/newsletter/thanks", get(newsletter_thanks))
            .route("/profile", get(profile_page).post(forms::profile))
            .route("/profile/thanks", get(profile_thanks))
            .route("/static/shop.css", get(stylesheet))
            .fallback(not_found)
            .with_state(self)
    }

    /// Runs `f` on the session named by the request's cookie, creating one
    /// when missing; returns the result and a `Set-Cookie` for a new session.
    fn with_session<T>(&self, headers: &HeaderMap, f: impl FnOnce(&mut Session) -> T) -> (T, Option<String>) {
        let mut data = self.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let existing = session_id(headers).filter(|id| data.sessions.contains_key(id));
        let (id, fresh) = match existing {
            Some(id) => (id, false),
            None => (uuid::Uuid::new_v4().simple().to_string(), true),
        };
        let value = f(data.sessions.entry(id.clone()).or_default());
        (value, fresh.then(|| session_cookie(&id)))
    }

    /// Replaces the session id (at login), keeping the cart.
    fn rotate_session(&self, headers: &HeaderMap, user: Option<String>) -> String {
        let mut data = self.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let old = session_id(headers).and_then(|id| data.sessions.remove(&id)).unwrap_or_default();
        let id = uuid::Uuid::new_v4().simple().to_string();
        data.sessions.insert(id.clone(), Session { user, cart: old.cart });
        session_cookie(&id)
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn session_cookie(id: &str) -> String {
    format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn price(cents: u32) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}

/// Formats cents as plain decimal text, as a form field carries it.
fn decimal(cents: u32) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub(super) fn page(title: &str, body: &str) -> String {
    let categories: String = CATEGORIES.iter().map(|c| format!(r#"<a href="/category/{c}">{c}</a> "#)).collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Demo shop</title>
<link rel="stylesheet" href="/static/shop.css"></head>
<body><header><a href="/"><strong>Demo shop</strong></a> {categories}
<form action="/search" method="get" class="inline"><input name="q" placeholder="Search"><button>Search</button></form>
<a href="/cart">Cart</a> <a href="/account">Account</a> <a href="/profile">Profile</a></header>
<main><h1>{title}</h1>
{body}</main>
<footer><form action="/newsletter" method="post">Newsletter: <input name="email" type="email" placeholder="you@example.com">
<button>Subscribe</button></form></footer></body></html>
"#,
        title = escape(title)
    )
}

fn product_list<'a>(products: impl Iterator<Item = &'a Product>) -> String {
    let items: String = products
        .map(|p| format!(r#"<li><a href="/product/{}">{}</a> {}</li>"#, p.id, escape(p.name), price(p.price_cents)))
        .collect();
    format!("<ul>{items}</ul>")
}

fn html_with_cookie(status: StatusCode, body: String, cookie: Option<String>) -> Response {
    let mut response = (status, Html(body)).into_response();
    if let Some(cookie) = cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn redirect_with_cookie(to: &str, cookie: Option<String>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(cookie) = cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn home() -> Html<String> {
    Html(page("Welcome", &product_list(PRODUCTS.iter())))
}

async fn category(Path(slug): Path<String>) -> Response {
    if !CATEGORIES.contains(&slug.as_str()) {
        return not_found().await.into_response();
    }
    Html(page(&slug, &product_list(PRODUCTS.iter().filter(|p| p.category == slug)))).into_response()
}

async fn product(Path(id): Path<String>) -> Response {
    let Some(product) = PRODUCTS.iter().find(|p| p.id == id) else {
        return not_found().await.into_response();
    };
    let body = format!(
        r#"<p>{}</p><form action="/cart/add" method="post">
<input type="hidden" name="product_id" value="{}"><input type="hidden" name="price" value="{}">
<input name="quantity" value="1" size="2"><button>Add to cart</button></form>"#,
        price(product.price_cents),
        product.id,
        decimal(product.price_cents)
    );
    Html(page(product.name, &body)).into_response()
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(Query(query): Query<SearchQuery>) -> Html<String> {
    let term = query.q.trim().to_lowercase();
    let found = PRODUCTS.iter().filter(|p| !term.is_empty() && p.name.to_lowercase().contains(&term));
    Html(page(&format!("Search: {}", query.q), &product_list(found)))
}

async fn cart(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (lines, cookie) = shop.with_session(&headers, |session| session.cart.clone());
    let body = if lines.is_empty() {
        "<p>Your cart is empty.</p>".to_owned()
    } else {
        let items: String =
            lines.iter().map(|(id, quantity)| format!("<li>{quantity} × {}</li>", escape(id))).collect();
        format!(r#"<ul>{items}</ul><p><a href="/checkout">Checkout</a></p>"#)
    };
    html_with_cookie(StatusCode::OK, page("Cart", &body), cookie)
}

#[derive(Deserialize)]
struct CartAdd {
    product_id: String,
    #[serde(default)]
    quantity: Option<String>,
}

async fn cart_add(State(shop): State<Shop>, headers: HeaderMap, Form(form): Form<CartAdd>) -> Response {
    if !PRODUCTS.iter().any(|p| p.id == form.product_id) {
        return (StatusCode::UNPROCESSABLE_ENTITY, Html(page("Unknown product", "<p>No such product.</p>")))
            .into_response();
    }
    let quantity = form.quantity.and_then(|q| q.trim().parse().ok()).filter(|q| *q > 0).unwrap_or(1);
    let ((), cookie) = shop.with_session(&headers, |session| session.cart.push((form.product_id, quantity)));
    redirect_with_cookie("/cart", cookie)
}

async fn checkout_form() -> Html<String> {
    let body = r#"<form action="/checkout" method="post"><label>Name <input name="name"></label>
<label>Email <input name="email" type="email"></label><button>Place order</button></form>"#;
    Html(page("Checkout", body))
}

async fn checkout(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (lines, cookie) = shop.with_session(&headers, |session| std::mem::take(&mut session.cart));
    if lines.is_empty() {
        return redirect_with_cookie("/cart", cookie);
    }
    let total: u32 = lines
        .iter()
        .filter_map(|(id, quantity)| Some(PRODUCTS.iter().find(|p| p.id == id)?.price_cents * quantity))
        .sum();
    let order = {
        let mut data = shop.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        data.next_order += 1;
        let order = data.next_order - 1;
        data.orders.insert(order, total);
        order
    };
    redirect_with_cookie(&format!("/checkout/confirmation/{order}"), cookie)
}

async fn confirmation(State(shop): State<Shop>, Path(order): Path<String>) -> Response {
    let total = order.parse::<u64>().ok().and_then(|number| {
        let data = shop.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        data.orders.get(&number).copied()
    });
    let Some(total) = total else {
        return not_found().await.into_response();
    };
    let body = format!(
        r#"<p>Your order number is <strong>{}</strong>.</p><p>Total: <span class="total">{}</span></p>"#,
        escape(&order),
        price(total)
    );
    Html(page("Thank you", &body)).into_response()
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn credentials_form(action: &str, button: &str, error: &str) -> String {
    format!(
        r#"<p class="error">{error}</p><form action="{action}" method="post">
<label>Email <input name="email" type="email"></label><label>Password <input name="password" type="password"></label>
<button>{button}</button></form>"#
    )
}

async fn login_form() -> Html<String> {
    Html(page("Log in", &credentials_form("/login", "Log in", "")))
}

async fn login(State(shop): State<Shop>, headers: HeaderMap, Form(form): Form<Credentials>) -> Response {
    let email = form.email.trim().to_lowercase();
    let valid = {
        let data = shop.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        data.users.get(&email).is_some_and(|password| *password == form.password)
    };
    if !valid {
        let body = credentials_form("/login", "Log in", "Wrong email or password.");
        return (StatusCode::OK, Html(page("Log in", &body))).into_response();
    }
    let cookie = shop.rotate_session(&headers, Some(email));
    redirect_with_cookie("/account", Some(cookie))
}

async fn register_form() -> Html<String> {
    Html(page("Register", &credentials_form("/register", "Register", "")))
}

async fn register(State(shop): State<Shop>, headers: HeaderMap, Form(form): Form<Credentials>) -> Response {
    let email = form.email.trim().to_lowercase();
    let error = if !email.contains('@') || form.password.len() < 8 {
        Some("Enter an email and a password of at least 8 characters.")
    } else {
        let mut data = shop.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if data.users.contains_key(&email) {
            Some("A user with that email address already exists.")
        } else {
            data.users.insert(email.clone(), form.password);
            None
        }
    };
    if let Some(error) = error {
        let body = credentials_form("/register", "Register", error);
        return (StatusCode::OK, Html(page("Register", &body))).into_response();
    }
    let cookie = shop.rotate_session(&headers, Some(email));
    redirect_with_cookie("/account", Some(cookie))
}

async fn logout(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let cookie = shop.rotate_session(&headers, None);
    redirect_with_cookie("/", Some(cookie))
}

async fn account(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let (user, cookie) = shop.with_session(&headers, |session| session.user.clone());
    match user {
        Some(email) => {
            let body = format!(r#"<p>Logged in as {}.</p><p><a href="/logout">Log out</a></p>"#, escape(&email));
            html_with_cookie(StatusCode::OK, page("Your account", &body), cookie)
        }
        None => redirect_with_cookie("/login", cookie),
    }
}

async fn newsletter_page() -> Html<String> {
    Html(page("Newsletter", &forms::newsletter_form()))
}

async fn profile_page() -> Html<String> {
    Html(page("Your profile", &forms::profile_form()))
}

async fn profile_thanks() -> Html<String> {
    Html(page("Profile saved", "<p>Thank you.</p>"))
}

async fn newsletter_thanks() -> Html<String> {
    Html(page("Thanks for subscribing", "<p>You are on the list.</p>"))
}

async fn stylesheet() -> impl IntoResponse {
    let css = "body{font-family:sans-serif;max-width:48rem;margin:auto}header a{margin-right:.5rem}\
               .inline{display:inline}.error{color:#b00}label{display:block;margin:.3rem 0}";
    ([(header::CONTENT_TYPE, "text/css")], css)
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, Html(page("Not found", "<p>No such page.</p>")))
}
