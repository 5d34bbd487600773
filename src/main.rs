//! The `footprint` command: loads configuration, sets up logging and
//! metrics, and runs the proxy or the demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use footprint::config::{Config, StoreBackend};
use footprint::{app, cli, demo, telemetry, tracking};

#[derive(Parser)]
#[command(name = "footprint", version, about = "Reverse proxy that turns storefront visitors into contacts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy and the admin API in front of a shop.
    Serve {
        /// Configuration file (TOML).
        #[arg(long, short, default_value = "config.toml")]
        config: PathBuf,
        /// Override `proxy.listen`.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Override `proxy.upstream` (the shop's base URL).
        #[arg(long)]
        upstream: Option<String>,
        /// Override `admin.listen`.
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        /// Override `store.redis_url` (and use Redis).
        #[arg(long)]
        redis_url: Option<String>,
        /// Override `store.backend`: `redis` or `embedded`.
        #[arg(long, value_parser = parse_backend)]
        store: Option<StoreBackend>,
    },
    /// Run a built-in demo shop with Footprint in front of it, using the
    /// in-process store. Prints the URLs and the admin token.
    Demo(demo::DemoOptions),
    /// Print a new random tracker signing key (base64) for `tracker.keys`.
    Keygen,
    /// Develop field-capture plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Import contacts from a CSV or NDJSON file through a running admin
    /// API, showing progress. Exit code 0: the import finished (rejected
    /// rows included); 1: it was rejected or failed.
    Import(cli::import::ImportCommand),
    /// Export contacts or their activities through a running admin API to
    /// standard output or `--output FILE`, with progress on standard
    /// error. Exit code 0: the file was written whole; 1: the export was
    /// rejected or failed.
    Export(cli::export::ExportCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin crate that builds with `cargo build --release --target wasm32-wasip2`.
    New {
        /// Package name: ASCII letters, digits, `-` and `_`, starting with a letter.
        name: String,
        /// Directory to create for the crate; it must not exist. Default: NAME in the current directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run a plugin once on a sample form, without a shop or Redis, and
    /// print what it captured, the validation result, time, memory and fuel.
    /// Exit code 0: valid capture; 2: the plugin faulted or did not load;
    /// 3: the capture fails the field rules; 1: invalid options or files.
    Test(cli::plugin_test::PluginTestOptions),
}

fn parse_backend(text: &str) -> Result<StoreBackend, String> {
    match text {
        "redis" => Ok(StoreBackend::Redis),
        "embedded" => Ok(StoreBackend::Embedded),
        other => Err(format!("unknown store {other:?}; expected `redis` or `embedded`")),
    }
}

fn main() -> anyhow::Result<()> {
    // Invalid options exit with 1, so that `plugin test` keeps exit code 2
    // for a faulting plugin; clap's own default for usage errors is 2.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            std::process::exit(if error.use_stderr() { 1 } else { 0 });
        }
    };
    if let Command::Keygen = cli.command {
        println!("{}", tracking::TrackerKeys::generate().1);
        return Ok(());
    }
    if let Command::Plugin(PluginCommand::New { name, dir }) = &cli.command {
        return new_plugin(name, dir.as_deref());
    }

    telemetry::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    if let Command::Import(command) = cli.command {
        let code = runtime.block_on(cli::import::run(command))?;
        std::process::exit(code);
    }
    if let Command::Export(command) = cli.command {
        let code = runtime.block_on(cli::export::run(command))?;
        std::process::exit(code);
    }
    if let Command::Plugin(PluginCommand::Test(options)) = cli.command {
        let code = runtime.block_on(cli::plugin_test::run(options))?;
        std::io::Write::flush(&mut std::io::stdout()).context("cannot write the report")?;
        std::process::exit(code);
    }
    runtime.block_on(run(cli.command))
}

/// Runs `footprint plugin new` and prints the next steps.
fn new_plugin(name: &str, dir: Option<&Path>) -> anyhow::Result<()> {
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    let files = cli::plugin_new::create_plugin(name, &dir)?;

    println!("Created plugin {name} in {}:", dir.display());
    for file in files {
        println!("  {}", file.display());
    }
    println!("Build it with: cd {} && cargo build --release --target wasm32-wasip2", dir.display());
    Ok(())
}

async fn run(command: Command) -> anyhow::Result<()> {
    let metrics = telemetry::init_metrics().context("cannot install the metrics recorder")?;
    match command {
        Command::Serve { config, listen, upstream, admin_listen, redis_url, store } => {
            let mut config = Config::load(&config).with_context(|| format!("cannot load {}", config.display()))?;
            if let Some(listen) = listen {
                config.proxy.listen = listen;
            }
            if let Some(upstream) = upstream {
                config.proxy.upstream = upstream;
            }
            if let Some(admin_listen) = admin_listen {
                config.admin.listen = admin_listen;
            }
            if let Some(url) = redis_url {
                config.store.redis_url = url;
                config.store.backend = StoreBackend::Redis;
            }
            if let Some(backend) = store {
                config.store.backend = backend;
            }
            config.validate().context("invalid configuration after command-line overrides")?;

            let store = app::open_store(&config.store).await?;
            let running = app::start(&config, store, Some(metrics)).await?;
            app::shutdown_signal().await;
            running.shutdown().await
        }
        Command::Demo(options) => demo::run(options, metrics).await,
        Command::Keygen | Command::Plugin(_) | Command::Import(_) | Command::Export(_) => Ok(()),
    }
}
