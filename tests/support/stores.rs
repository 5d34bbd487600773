//! Both store backends for tests that must pass on each.

use std::sync::Arc;

use footprint::store::embedded::EmbeddedStore;
use footprint::store::redis::RedisStore;
use footprint::store::{Retention, Store};

use super::redis::RedisServer;

pub fn embedded() -> Arc<dyn Store> {
    Arc::new(EmbeddedStore::new(Retention::default()))
}

pub async fn redis(server: &RedisServer) -> Arc<dyn Store> {
    Arc::new(RedisStore::connect(&server.url(), "fp:", Retention::default()).await.expect("connect to test redis"))
}

/// Generates, for each named `async fn case(store: Arc<dyn Store>)`, a
/// module with one test on the embedded store and one on a Redis server
/// started for that test alone.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test]
                async fn embedded() {
                    super::$case($crate::support::stores::embedded()).await;
                }

                #[tokio::test]
                async fn redis() {
                    let server = $crate::support::redis::RedisServer::start();
                    super::$case($crate::support::stores::redis(&server).await).await;
                }
            }
        )*
    };
}
