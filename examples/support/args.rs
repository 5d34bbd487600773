//! Command-line options of the benchmarks, as `--name value` pairs.

use anyhow::Context as _;

/// Returns the value after `name`, or `default` when `name` is absent.
pub fn option<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|arg| arg == name) {
        Some(index) => {
            let value = args.get(index + 1).with_context(|| format!("{name} needs a value"))?;
            value.parse().map_err(|_| anyhow::anyhow!("invalid value {value:?} for {name}"))
        }
        None => Ok(default),
    }
}
