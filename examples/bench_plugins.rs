//! Plugin benchmark: the profile plugin's per-call latency, and form POST
//! throughput through Footprint with and without that plugin.
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 --target-dir target/plugins \
//!   --manifest-path plugins/profile/Cargo.toml
//! cargo run --release --example bench_plugins
//! ```
//!
//! Part one calls `PluginHost::call` (the proxy's path: a pooled instance,
//! instantiated per call, run on a fiber of the calling task) on a 20-field
//! checkout form, sequentially after a warm-up, and prints p50 and p99.
//!
//! Part two re-executes this binary as separate processes: an upstream on
//! 127.0.0.1 that responds 303 to every request after spending a set CPU
//! time on it (`--shop-cpu-us`, default `0,1000`: none, to isolate
//! Footprint's cost, and 1 ms, a light shop), two Footprints (embedded
//! store, the same configuration except the `[[plugin]]` rule), and a load
//! generator that keeps `--connections` keep-alive connections busy with the
//! same form for `--seconds`. Runs alternate without and with the plugin,
//! `--rounds` times each, and the medians are printed with the ratio and the
//! Footprints' peak RSS. With `taskset` installed each set is repeated
//! pinned: Footprint on CPU 0, the upstream and the load generator on CPU 1.
//!
//! Every connection stays on loopback, and every process it starts is
//! killed when it ends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use footprint::config::Config;
use footprint::plugins::{PluginHost, Submission};
use http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE, USER_AGENT};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

#[path = "support/args.rs"]
mod args;

use args::option;

/// The component `cargo build` writes for `plugins/profile`.
const PLUGIN_WASM: &str = "target/plugins/wasm32-wasip2/release/footprint_plugin_profile.wasm";
const BUILD_COMMAND: &str = "cargo build --release --target wasm32-wasip2 --target-dir target/plugins \
                             --manifest-path plugins/profile/Cargo.toml";

/// A checkout and profile form of 20 fields. The profile plugin reads the
/// cellphone, date of birth, city, shoe size and the three interests, and
/// ignores the other 12.
const FORM: &[(&str, &str)] = &[
    ("csrf", "b1946ac92492d2347c6235b4d2611184"),
    ("first_name", "Ana"),
    ("last_name", "García López"),
    ("email", "ana.garcia@example.com"),
    ("cellphone", "+34 600 000 001"),
    ("date_of_birth", "03/04/1990"),
    ("city", "Valencia"),
    ("shoe_size", "38,5"),
    ("interests", "running"),
    ("interests", "yoga"),
    ("interests[]", "cycling"),
    ("address_line1", "Calle de la Paz 12"),
    ("address_line2", "3º B"),
    ("postal_code", "46003"),
    ("country", "ES"),
    ("company", ""),
    ("shipping_method", "standard"),
    ("delivery_notes", "Leave it with the concierge, please."),
    ("accept_terms", "on"),
    ("gift_wrap", "no"),
];

/// Contact fields the plugin returns for [`FORM`]: cellphone, date of
/// birth, city, shoe size and three interests.
const EXPECTED_CAPTURED_FIELDS: usize = 7;

const FORM_ROUTE: &str = "/profile";
/// A browser's User-Agent: Footprint skips tracking for an empty one.
const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";
const URLENCODED: &str = "application/x-www-form-urlencoded";
const CALL_GOAL_P99_MICROS: f64 = 100.0;
const THROUGHPUT_GOAL_RATIO: f64 = 0.9;
const WARM_UP: Duration = Duration::from_secs(2);
const RESPONSE_HANG_GUARD: Duration = Duration::from_secs(30);
/// Clock ticks per second of /proc/PID/stat times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// Command-line options of the orchestrating run.
struct Options {
    calls: usize,
    connections: usize,
    seconds: f64,
    rounds: usize,
    /// CPU time the upstream spends on each request, in µs: one set of
    /// runs per value.
    shop_cpu_micros: Vec<u64>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new()?;

    match args.first().map(String::as_str) {
        Some("--upstream") => runtime.block_on(serve_upstream(option(&args, "--work-us", 0)?)),
        Some("--proxy") => runtime.block_on(serve_proxy(&args)),
        Some("--load") => runtime.block_on(generate_load(&args)),
        _ => {
            let options = Options {
                calls: option(&args, "--calls", 20_000)?,
                connections: option(&args, "--connections", 16)?,
                seconds: option(&args, "--seconds", 5.0)?,
                rounds: option(&args, "--rounds", 3)?,
                shop_cpu_micros: micros_list(&option(&args, "--shop-cpu-us", "0,1000".to_owned())?)?,
            };
            if options.calls == 0 || options.connections == 0 || options.rounds == 0 || options.seconds <= 0.0 {
                bail!("--calls, --connections, --rounds and --seconds must be positive");
            }
            runtime.block_on(orchestrate(&options))
        }
    }
}

/// Parses a comma-separated list of microseconds, such as `0,1000`.
fn micros_list(list: &str) -> anyhow::Result<Vec<u64>> {
    let values: Vec<u64> = list
        .split(',')
        .map(|item| item.trim().parse().map_err(|_| anyhow::anyhow!("invalid value {item:?} in --shop-cpu-us")))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        bail!("--shop-cpu-us needs at least one value");
    }
    Ok(values)
}

async fn orchestrate(options: &Options) -> anyhow::Result<()> {
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR")).join(PLUGIN_WASM);
    if !wasm.exists() {
        bail!(
            "{} not found; build the profile plugin first, from the repository root:\n  {BUILD_COMMAND}",
            wasm.display()
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |count| count.get());
    println!("machine: {cpus} CPUs; plugin: {}", wasm.display());

    measure_calls(&wasm, options.calls).await?;

    let pinnings = if taskset_available() { vec![false, true] } else { vec![false] };
    if pinnings.len() == 1 {
        println!("\ntaskset not found: throughput measured unpinned only");
    }
    for shop_cpu_micros in &options.shop_cpu_micros {
        for pinned in &pinnings {
            measure_throughput(&wasm, options, *pinned, *shop_cpu_micros).await?;
        }
    }
    Ok(())
}

/// Returns the form as the plugin host receives it.
fn submission() -> Submission {
    let fields = FORM
        .iter()
        .map(|(name, value)| footprint::plugins::Field { name: (*name).to_owned(), value: (*value).to_owned() })
        .collect();
    Submission { route: FORM_ROUTE.to_owned(), method: "POST".to_owned(), content_type: URLENCODED.to_owned(), fields }
}

fn form_body() -> Bytes {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(FORM);
    Bytes::from(serializer.finish())
}

/// Builds a Footprint configuration: embedded store, one activity rule for
/// the form, and the profile plugin on the form route when `plugin` is set.
fn footprint_config(upstream: SocketAddr, plugin: Option<&Path>, cache_dir: &Path) -> anyhow::Result<Config> {
    let (_, key) = footprint::tracking::TrackerKeys::generate();
    let mut text = format!(
        r#"
[proxy]
listen = "127.0.0.1:0"
upstream = "http://{upstream}"

[admin]
listen = "127.0.0.1:0"
tokens = [{{ name = "bench", token = "{ADMIN_TOKEN}" }}]

[store]
backend = "embedded"

[tracker]
keys = ["{key}"]

[[activity]]
kind = "form_submission"
name = "profile"
methods = ["POST"]
path = "{FORM_ROUTE}"
success = {{ status = [303] }}

[plugins]
cache_dir = "{cache}"
reload_poll_secs = 0
"#,
        cache = cache_dir.display(),
    );
    if let Some(plugin) = plugin {
        text.push_str(&format!(
            r#"
[[plugin]]
name = "profile"
file = "{file}"
path = "{FORM_ROUTE}"
success = {{ status = [303] }}
"#,
            file = plugin.display(),
        ));
    }

    let config = Config::from_toml(&text).context("the benchmark's configuration does not parse")?;
    config.validate().context("the benchmark's configuration is invalid")?;
    Ok(config)
}

/// Part one: sequential calls through the plugin host.
async fn measure_calls(wasm: &Path, calls: usize) -> anyhow::Result<()> {
    let cache = tempfile::tempdir()?;
    let unused_upstream = SocketAddr::from(([127, 0, 0, 1], 9));
    let config = footprint_config(unused_upstream, Some(wasm), cache.path())?;
    let host = PluginHost::start(&config).context("cannot start the plugin host")?;
    if !host.status("profile").is_some_and(|status| status.loaded) {
        bail!("the profile plugin did not load from {}", wasm.display());
    }

    let capture =
        host.call("profile", submission()).await.map_err(|fault| anyhow::anyhow!("plugin call failed: {fault}"))?;
    if capture.fields.len() != EXPECTED_CAPTURED_FIELDS {
        bail!("the plugin captured {} fields, expected {EXPECTED_CAPTURED_FIELDS}: {capture:?}", capture.fields.len());
    }

    let warm_up = (calls / 10).max(1000);
    for _ in 0..warm_up {
        let _ = host.call("profile", submission()).await;
    }
    let mut plugin_micros = Vec::with_capacity(calls);
    for _ in 0..calls {
        let input = submission();
        let started = Instant::now();
        host.call("profile", input).await.map_err(|fault| anyhow::anyhow!("plugin call failed: {fault}"))?;
        plugin_micros.push(started.elapsed().as_secs_f64() * 1e6);
    }

    println!("\nplugin calls: {calls} after {warm_up} warm-up calls, {} form fields, sequential", FORM.len());
    println!("{:<44} {:>8} {:>8} {:>10}", "measure", "p50 µs", "p99 µs", "goal p99");
    let (p50, p99) = percentiles(&mut plugin_micros);
    println!("{:<44} {p50:>8.1} {p99:>8.1} {CALL_GOAL_P99_MICROS:>10.0}", "PluginHost::call (instantiate + call)");
    Ok(())
}

/// Sorts `values` and returns their p50 and p99 (nearest rank).
fn percentiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

fn taskset_available() -> bool {
    Command::new("taskset").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A process of this benchmark, killed on drop.
struct Started {
    child: Child,
    addr: SocketAddr,
    /// The admin API's address, for a Footprint.
    admin: Option<SocketAddr>,
}

impl Started {
    /// Runs this binary with `args`, on `cpu` when set, and waits for the
    /// `listening ADDR` line it prints once it accepts connections.
    fn spawn(args: &[&str], cpu: Option<u32>) -> anyhow::Result<Started> {
        let mut child =
            self_command(args, cpu)?.stdout(Stdio::piped()).spawn().context("cannot start a benchmark process")?;
        let stdout = child.stdout.take().context("no stdout from a benchmark process")?;
        // Built before the address is known, so an early return kills the child.
        let mut started = Started { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), admin: None };
        let addrs = read_listening_line(stdout).with_context(|| format!("benchmark process {args:?} did not start"))?;
        (started.addr, started.admin) = addrs;
        Ok(started)
    }

    /// CPU time used so far by all threads, user and system, in seconds
    /// (`utime` + `stime` of /proc/PID/stat).
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // The command name may contain spaces, so fields are counted after
        // its closing `)`: utime and stime are fields 14 and 15 of the line.
        let after_name = stat.rsplit_once(')').context("invalid /proc/PID/stat")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let utime: u64 = fields.get(11).context("no utime in /proc/PID/stat")?.parse()?;
        let stime: u64 = fields.get(12).context("no stime in /proc/PID/stat")?.parse()?;
        Ok((utime + stime) as f64 / USER_HZ)
    }

    /// Peak resident set size in KiB (`VmHWM` of /proc/PID/status).
    fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in /proc/PID/status")
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `listening ADDR [ADMIN_ADDR]`, the first line a server mode prints.
fn read_listening_line(stdout: ChildStdout) -> anyhow::Result<(SocketAddr, Option<SocketAddr>)> {
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addrs = line.trim().strip_prefix("listening ").with_context(|| format!("unexpected first line {line:?}"))?;
    let mut addrs =
        addrs.split_whitespace().map(|addr| addr.parse().with_context(|| format!("invalid address {addr:?}")));
    let addr = addrs.next().context("no address after `listening`")??;
    let admin = addrs.next().transpose()?;
    Ok((addr, admin))
}

/// Returns a command that runs this binary with `args`, through
/// `taskset -c CPU` when `cpu` is set.
fn self_command(args: &[&str], cpu: Option<u32>) -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot find this benchmark's executable")?;
    let mut command = match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    command.args(args).stdin(Stdio::null());
    Ok(command)
}

/// One load run's figures, as the load generator prints them.
#[derive(Clone, Copy, Debug, Default)]
struct LoadFigures {
    requests: u64,
    requests_per_sec: f64,
    p50_micros: f64,
    p99_micros: f64,
    errors: u64,
}

impl LoadFigures {
    fn to_line(self) -> String {
        format!(
            "requests={} rps={} p50_us={} p99_us={} errors={}",
            self.requests, self.requests_per_sec, self.p50_micros, self.p99_micros, self.errors
        )
    }

    fn parse(line: &str) -> anyhow::Result<LoadFigures> {
        let mut figures = LoadFigures::default();
        for pair in line.split_whitespace() {
            let (key, value) = pair.split_once('=').with_context(|| format!("invalid load output {line:?}"))?;
            match key {
                "requests" => figures.requests = value.parse()?,
                "rps" => figures.requests_per_sec = value.parse()?,
                "p50_us" => figures.p50_micros = value.parse()?,
                "p99_us" => figures.p99_micros = value.parse()?,
                "errors" => figures.errors = value.parse()?,
                _ => bail!("unknown key {key:?} in load output {line:?}"),
            }
        }
        Ok(figures)
    }
}

/// Runs the load generator against `target` and returns its figures.
fn run_load(target: SocketAddr, connections: usize, seconds: f64, cpu: Option<u32>) -> anyhow::Result<LoadFigures> {
    let target = target.to_string();
    let connections = connections.to_string();
    let seconds = seconds.to_string();
    let args = ["--load", &target, "--connections", &connections, "--seconds", &seconds];
    let output = self_command(&args, cpu)?.output().context("cannot start the load generator")?;
    if !output.status.success() {
        bail!("the load generator failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    LoadFigures::parse(String::from_utf8_lossy(&output.stdout).trim())
}

/// Part two, one set: upstream, both Footprints, alternating load runs.
async fn measure_throughput(wasm: &Path, options: &Options, pinned: bool, shop_cpu_micros: u64) -> anyhow::Result<()> {
    let (proxy_cpu, load_cpu) = if pinned { (Some(0), Some(1)) } else { (None, None) };
    let work = shop_cpu_micros.to_string();
    let upstream = Started::spawn(&["--upstream", "--work-us", &work], load_cpu)?;
    let upstream_addr = upstream.addr.to_string();
    let wasm_arg = wasm.display().to_string();
    let without = Started::spawn(&["--proxy", "--upstream", &upstream_addr], proxy_cpu)?;
    let with = Started::spawn(&["--proxy", "--upstream", &upstream_addr, "--plugin", &wasm_arg], proxy_cpu)?;

    for proxy in [&without, &with] {
        run_load(proxy.addr, options.connections, WARM_UP.as_secs_f64(), load_cpu)?;
    }
    // CPU time per request is less sensitive than requests per second to
    // other processes on a shared machine, which take CPU from every run.
    let mut runs: [Vec<LoadFigures>; 2] = [Vec::new(), Vec::new()];
    let mut cpu_micros: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..options.rounds {
        for (index, proxy) in [&without, &with].into_iter().enumerate() {
            let cpu_before = proxy.cpu_seconds()?;
            let figures = run_load(proxy.addr, options.connections, options.seconds, load_cpu)?;
            let cpu = proxy.cpu_seconds()? - cpu_before;
            cpu_micros[index].push(cpu * 1e6 / figures.requests.max(1) as f64);
            runs[index].push(figures);
        }
    }

    let placement = if pinned { "pinned: Footprint on CPU 0, upstream and load on CPU 1" } else { "unpinned" };
    println!(
        "\nform POST through Footprint, {placement}; upstream CPU {shop_cpu_micros} µs/request; \
         {} connections, {} s per run, {} runs each, alternating",
        options.connections, options.seconds, options.rounds
    );
    println!(
        "{:<16} {:>10} {:>9} {:>9} {:>7} {:>14} {:>14}",
        "Footprint", "req/s", "p50 µs", "p99 µs", "errors", "CPU µs/request", "peak RSS MiB"
    );
    let mut medians = [0.0; 2];
    for (index, (label, proxy)) in [("without plugin", &without), ("with plugin", &with)].into_iter().enumerate() {
        let figures = &runs[index];
        let rates: Vec<f64> = figures.iter().map(|run| run.requests_per_sec).collect();
        let p50s: Vec<f64> = figures.iter().map(|run| run.p50_micros).collect();
        let p99s: Vec<f64> = figures.iter().map(|run| run.p99_micros).collect();
        let errors: u64 = figures.iter().map(|run| run.errors).sum();
        medians[index] = median(&rates);
        let rss_mib = proxy.peak_rss_kib()? as f64 / 1024.0;
        println!(
            "{label:<16} {:>10.0} {:>9.0} {:>9.0} {errors:>7} {:>14.0} {rss_mib:>14.1}",
            medians[index],
            median(&p50s),
            median(&p99s),
            median(&cpu_micros[index])
        );
        let each: Vec<String> = rates.iter().map(|rate| format!("{rate:.0}")).collect();
        println!("{:<16} req/s per run: {}", "", each.join(", "));
    }
    println!("ratio with/without (median req/s): {:.3} (goal >= {THROUGHPUT_GOAL_RATIO})", medians[1] / medians[0]);

    // The load's own contacts are not checked: a fresh visitor shows that
    // the plugin's capture reaches the store only where the rule is set.
    let stored = [captured_city(&without).await?, captured_city(&with).await?];
    println!("city stored from the form: without plugin {:?}, with plugin {:?}", stored[0], stored[1]);
    if stored[0].is_some() || stored[1].as_deref() != Some("Valencia") {
        bail!("the plugin's capture was not stored as expected, so the figures above do not measure it");
    }
    Ok(())
}

/// Posts the form twice as a new browser (the second time with its tracker
/// cookie, which makes it a contact) and returns the `city` custom field
/// the contact gets, waiting up to 5 s for the writer.
async fn captured_city(footprint: &Started) -> anyhow::Result<Option<String>> {
    let admin = footprint.admin.context("no admin address for a Footprint")?;
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build()?;
    let form_url = format!("http://{}{FORM_ROUTE}", footprint.addr);
    let post = |cookie: Option<&str>| {
        let mut request = http
            .post(&form_url)
            .header(USER_AGENT, BROWSER_USER_AGENT)
            .header(CONTENT_TYPE, URLENCODED)
            .body(form_body());
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };

    let first = post(None).await?;
    let set_cookie = first.headers().get(SET_COOKIE).context("Footprint set no tracker cookie")?;
    let cookie = cookie_pair(set_cookie).context("invalid tracker cookie")?;
    let cookie = cookie.to_str()?.to_owned();
    post(Some(&cookie)).await?;

    // The cookie value ends with the tracker id, a UUID of 36 characters.
    let tracker = cookie.get(cookie.len().saturating_sub(36)..).context("tracker cookie too short")?;
    let profile_url = format!("http://{admin}/api/v1/contacts/by-tracker/{tracker}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let response = http.get(&profile_url).bearer_auth(ADMIN_TOKEN).send().await?;
        if response.status().is_success() {
            let contact: serde_json::Value = response.json().await?;
            if let Some(city) = contact["custom_fields"]["city"].as_str() {
                return Ok(Some(city.to_owned()));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(None)
}

/// `--upstream --work-us N`: responds 303 to every request after reading
/// its body and spending N µs of CPU time, as a shop handling the form
/// would.
async fn serve_upstream(work_micros: u64) -> anyhow::Result<()> {
    let work = Duration::from_micros(work_micros);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);

    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer_form(request, work));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer_form(request: Request<Incoming>, work: Duration) -> Result<Response<Full<Bytes>>, hyper::Error> {
    request.into_body().collect().await?;

    let started = Instant::now();
    while started.elapsed() < work {
        std::hint::spin_loop();
    }

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(LOCATION, HeaderValue::from_static("/profile/thanks"));
    Ok(response)
}

/// `--proxy --upstream ADDR [--plugin FILE]`: one Footprint with the
/// embedded store and the demo's custom field definitions.
async fn serve_proxy(args: &[String]) -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    let upstream: SocketAddr = option(args, "--upstream", String::new())?.parse().context("--upstream")?;
    let plugin = option(args, "--plugin", String::new())?;
    let plugin = (!plugin.is_empty()).then(|| PathBuf::from(plugin));
    let cache = tempfile::tempdir()?;

    let config = footprint_config(upstream, plugin.as_deref(), cache.path())?;
    let store = footprint::app::open_store(&config.store).await?;
    footprint::demo::create_field_definitions(store.as_ref()).await?;
    let running = footprint::app::start(&config, store, None).await?;
    println!("listening {} {}", running.proxy_addr, running.admin_addr);

    footprint::app::shutdown_signal().await;
    running.shutdown().await
}

/// `--load ADDR --connections N --seconds S`: posts the form on N
/// keep-alive connections for S seconds and prints one line of figures.
async fn generate_load(args: &[String]) -> anyhow::Result<()> {
    let target: SocketAddr = args.get(1).context("--load needs an address")?.parse().context("--load")?;
    let connections: usize = option(args, "--connections", 16)?;
    let seconds: f64 = option(args, "--seconds", 5.0)?;
    let body = form_body();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);

    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        tasks.push(tokio::spawn(post_until(target, body.clone(), deadline)));
    }
    let mut micros = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await??;
        micros.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();

    if micros.is_empty() {
        bail!("no request completed against {target}");
    }
    let requests = micros.len() as u64;
    let requests_per_sec = requests as f64 / elapsed;
    let (p50_micros, p99_micros) = percentiles(&mut micros);
    println!("{}", LoadFigures { requests, requests_per_sec, p50_micros, p99_micros, errors }.to_line());
    Ok(())
}

/// Posts the form on one connection until `deadline`, sending back the
/// tracker cookie like a returning browser. Returns the latencies in
/// microseconds and the number of responses other than 303.
async fn post_until(target: SocketAddr, body: Bytes, deadline: Instant) -> anyhow::Result<(Vec<f64>, u64)> {
    let stream = tokio::net::TcpStream::connect(target).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);

    let mut cookie: Option<HeaderValue> = None;
    let mut latencies = Vec::new();
    let mut errors = 0;
    while Instant::now() < deadline {
        let mut request = Request::post(FORM_ROUTE)
            .header(HOST, "shop.example")
            .header(USER_AGENT, BROWSER_USER_AGENT)
            .header(CONTENT_TYPE, URLENCODED)
            .body(Full::new(body.clone()))?;
        if let Some(value) = &cookie {
            request.headers_mut().insert(COOKIE, value.clone());
        }

        sender.ready().await?;
        let started = Instant::now();
        // A hang guard only: a response this late means Footprint stalled.
        let response = tokio::time::timeout(RESPONSE_HANG_GUARD, sender.send_request(request))
            .await
            .with_context(|| format!("no response from {target} within {RESPONSE_HANG_GUARD:?}"))??;
        let status = response.status();
        let set_cookie = response.headers().get(SET_COOKIE).cloned();
        response.into_body().collect().await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);

        if status != StatusCode::SEE_OTHER {
            errors += 1;
        }
        if let Some(pair) = set_cookie.and_then(|value| cookie_pair(&value)) {
            cookie = Some(pair);
        }
    }
    Ok((latencies, errors))
}

/// Returns the `name=value` part of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &HeaderValue) -> Option<HeaderValue> {
    let text = set_cookie.to_str().ok()?;
    let pair = text.split(';').next()?.trim();
    HeaderValue::from_str(pair).ok()
}
