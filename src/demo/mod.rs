//! `footprint demo`: the built-in [`shop`] with Footprint in front of it,
//! the in-process store and the admin API, all on loopback.
//!
//! The demo uses the repository's `config.toml` (compiled in), replacing
//! only what a demo must: addresses, the embedded store, a fresh signing
//! key and a fresh admin token, which it prints. At start it creates the
//! custom fields the example plugins fill (`city`, `shoe_size`,
//! `interests`). The plugins themselves are loaded from
//! `target/plugins/wasm32-wasip2/release/`, relative to the working
//! directory; [`plugins`] builds them there when they are missing. Without
//! them the forms still work and nothing is captured.

pub mod forms;
pub mod plugins;
pub mod shop;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use rand::distr::{Alphanumeric, SampleString};

use crate::app;
use crate::config::{AdminToken, Config, StoreBackend};
use crate::store::embedded::EmbeddedStore;
use crate::store::{now_millis, DefinitionWrite, FieldDefinition, FieldType, Store, StoreError};
use crate::tracking::TrackerKeys;

/// The configuration the demo starts from.
pub const DEMO_CONFIG: &str = include_str!("../../config.toml");

/// Options of `footprint demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoOptions {
    /// Port of the storefront as shoppers see it (through Footprint).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Port of the admin API.
    #[arg(long, default_value_t = 8081)]
    pub admin_port: u16,
    /// Port of the demo shop itself, behind Footprint; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub shop_port: u16,
}

/// Builds the demo configuration for a shop at `shop_addr`; returns it with
/// the admin token.
pub fn demo_config(options: &DemoOptions, shop_addr: SocketAddr) -> anyhow::Result<(Config, String)> {
    let mut config = Config::from_toml(DEMO_CONFIG).context("the built-in config.toml is invalid")?;
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);

    config.proxy.listen = SocketAddr::from(([127, 0, 0, 1], options.port));
    config.proxy.upstream = format!("http://{shop_addr}");
    config.admin.listen = SocketAddr::from(([127, 0, 0, 1], options.admin_port));
    config.admin.tokens = vec![AdminToken { name: "demo".to_owned(), token: token.clone() }];
    config.store.backend = StoreBackend::Embedded;
    config.tracker.keys = vec![TrackerKeys::generate().1];

    config.validate().context("invalid demo configuration")?;
    Ok((config, token))
}

/// Runs the demo until Ctrl-C.
pub async fn run(options: DemoOptions, metrics: metrics_exporter_prometheus::PrometheusHandle) -> anyhow::Result<()> {
    let shop_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.shop_port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{} for the demo shop", options.shop_port))?;
    let shop_addr = shop_listener.local_addr()?;
    let shop_task = tokio::spawn(async move { axum::serve(shop_listener, shop::Shop::new().router()).await });

    let (config, token) = demo_config(&options, shop_addr)?;
    plugins::build_missing(&config).await;
    let store = Arc::new(EmbeddedStore::new(config.store.retention()));
    create_field_definitions(&*store).await.context("cannot create the demo's custom fields")?;
    let running = app::start(&config, store, Some(metrics)).await?;

    let (proxy, admin) = (running.proxy_addr, running.admin_addr);
    println!(
        "\nFootprint demo is running.\n\n  \
         Shop (through Footprint):  http://{proxy}/\n  \
         Admin API:                 http://{admin}/api/v1/\n  \
         Admin token:               {token}\n  \
         Demo shop customer:        {} / {}\n\n\
         Browse the shop, then look yourself up by tracker (the fp_tid cookie's last 36 characters):\n  \
         curl -H 'Authorization: Bearer {token}' http://{admin}/api/v1/contacts/by-tracker/<tracker>\n\
         or, after logging in:\n  \
         curl -H 'Authorization: Bearer {token}' http://{admin}/api/v1/contacts/by-email/{}\n\n\
         Press Ctrl-C to stop.\n",
        shop::DEMO_CUSTOMER.0,
        shop::DEMO_CUSTOMER.1,
        shop::DEMO_CUSTOMER.0,
    );

    app::shutdown_signal().await;
    running.shutdown().await?;
    shop_task.abort();
    Ok(())
}

/// Creates the custom fields the example plugins fill, unless a field of
/// that name exists: `city` (text), `shoe_size` (decimal) and `interests`
/// (multiple choice of the demo shop's interests).
pub async fn create_field_definitions(store: &dyn Store) -> Result<(), StoreError> {
    let interests: Vec<String> = shop_forms_interests();
    let fields = [
        ("city", "City", FieldType::Text, Vec::new()),
        ("shoe_size", "Shoe size", FieldType::Decimal, Vec::new()),
        ("interests", "Interests", FieldType::MultipleChoice, interests),
    ];

    for (name, label, kind, options) in fields {
        let at = now_millis();
        let definition = FieldDefinition {
            id: uuid::Uuid::new_v4(),
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            options,
            default: None,
            created_at: at,
            updated_at: at,
        };
        match store.create_field_definition(&definition).await? {
            DefinitionWrite::Written | DefinitionWrite::NameTaken => {}
            other => tracing::warn!(field = name, outcome = ?other, "demo custom field not created"),
        }
    }
    Ok(())
}

fn shop_forms_interests() -> Vec<String> {
    forms::INTERESTS.iter().map(|interest| (*interest).to_owned()).collect()
}
