//! The demo shop on its own, to run Footprint in front of it with
//! `footprint serve` and Redis instead of `footprint demo`:
//!
//! ```sh
//! cargo run --example demo_shop -- 127.0.0.1:8000
//! ```

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener =
        tokio::net::TcpListener::bind(&address).await.with_context(|| format!("cannot listen on {address}"))?;

    println!("demo shop on http://{}/", listener.local_addr()?);
    axum::serve(listener, footprint::demo::shop::Shop::new().router()).await?;
    Ok(())
}
