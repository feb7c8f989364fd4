//! The `darter` binary: parse flags and config file, start the server, wait for SHUTDOWN.

/// mimalloc, counting each thread's usable bytes: INFO memory, MEMORY and maxmemory read it.
#[global_allocator]
static GLOBAL: darter_alloc::CountingMiMalloc = darter_alloc::CountingMiMalloc;

fn main() {
    let loaded = match darter_server::cli::load_from_args(std::env::args()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let filter = match loaded.log_level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => loaded.log_level.clone(),
        _ => "info".to_string(),
    };
    use tracing_subscriber::prelude::*;
    let (filter_layer, reload) =
        tracing_subscriber::reload::Layer::new(tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    // CONFIG SET loglevel re-filters logging at runtime.
    darter_commands::config::set_loglevel_applier(Box::new(move |level| {
        let _ = reload.modify(|f| *f = tracing_subscriber::EnvFilter::new(level));
    }));
    let running = match darter_server::start(loaded.init, darter_server::StartOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("darter: {e}");
            std::process::exit(1);
        }
    };
    for a in &running.addrs {
        // Tests and scripts wait for this line (never for a sleep).
        println!("darter listening on {a}");
    }
    tracing::info!(
        threads = running.server.engine.num_threads(),
        shards = running.server.engine.num_shards(),
        "Ready to accept connections"
    );
    running.wait();
}
