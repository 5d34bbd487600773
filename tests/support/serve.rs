//! A `footprint serve` process on its own Redis, with the repository's
//! configuration and a private transfer directory, for tests of the
//! clients of the admin API (`footprint import`, `footprint export`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::footprint::{Footprint, Overrides};
use super::redis::RedisServer;

/// A `footprint serve` and the Redis it uses, stopped when dropped.
pub struct ServeOnRedis {
    pub footprint: Footprint,
    _redis: RedisServer,
    /// A temporary directory for the test's files. It contains the
    /// transfer directory `transfers` unless the test chose another.
    pub dir: tempfile::TempDir,
}

impl ServeOnRedis {
    /// Starts the server with `<dir>/transfers` as its transfer directory.
    pub async fn start() -> ServeOnRedis {
        ServeOnRedis::start_with_transfer_dir(|dir| dir.join("transfers")).await
    }

    /// Starts the server with the transfer directory that `transfer_dir`
    /// returns for the test's temporary directory.
    pub async fn start_with_transfer_dir(transfer_dir: impl FnOnce(&Path) -> PathBuf) -> ServeOnRedis {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().expect("a temp dir");
        let config =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).expect("config");
        let transfers = transfer_dir(dir.path());
        let config = config.replacen("tokens = []\n", &format!("tokens = []\ntransfer_dir = {transfers:?}\n"), 1);
        let config_path = dir.path().join("footprint.toml");
        std::fs::write(&config_path, config).expect("config written");

        let overrides =
            Overrides { upstream: "http://127.0.0.1:9".to_owned(), redis_url: redis.url(), ..Overrides::default() };
        let footprint = Footprint::start(&config_path, overrides).await;
        ServeOnRedis { footprint, _redis: redis, dir }
    }

    /// Runs `footprint <arguments> --admin-url <this server>` with this
    /// server's token in `FOOTPRINT_ADMIN_TOKEN` and returns its output. A
    /// `--token` among the arguments overrides the token.
    pub fn run_client<S: AsRef<OsStr>>(&self, arguments: impl IntoIterator<Item = S>) -> Output {
        Command::new(env!("CARGO_BIN_EXE_footprint"))
            .args(arguments)
            .args(["--admin-url", &self.footprint.admin_url()])
            .env("FOOTPRINT_ADMIN_TOKEN", self.footprint.token())
            .env_remove("FOOTPRINT_ADMIN_URL")
            .output()
            .expect("the footprint binary runs")
    }
}
