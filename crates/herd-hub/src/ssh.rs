//! The ssh [`Fallback`]: herd-fleet's [`SshPool`] behind the hub's
//! fallback contract.
//!
//! A reload that changes the `[ssh]` table puts a new pool in place: new
//! calls connect with the new settings (an `ssh_config` given as `-F`
//! applies to every connection), and the old pool's connections close once
//! the calls that hold them are done.

use crate::Fallback;
use arc_swap::ArcSwap;
use herd_fleet::{Registry, SshConfig, SshPool, SshSettings};
use herd_proto::BoxFuture;
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Runs agent tools over ssh, one reused connection per destination.
pub struct SshFallback {
    pool: ArcSwap<SshPool>,
    /// The settings `pool` was made with.
    settings: Mutex<SshSettings>,
}

impl SshFallback {
    /// A fallback with the registry's `[ssh]` settings.
    pub fn new(settings: &SshSettings) -> Self {
        Self { pool: ArcSwap::from_pointee(pool(settings)), settings: Mutex::new(settings.clone()) }
    }
}

fn pool(settings: &SshSettings) -> SshPool {
    SshPool::new(SshConfig {
        config_file: settings.config_file.clone(),
        connect_timeout: settings.connect_timeout,
        call_timeout: settings.call_timeout,
        keepalive_interval: settings.keepalive,
        ..SshConfig::default()
    })
}

impl Fallback for SshFallback {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn supports(&self, tool: &str) -> bool {
        SshPool::supports(tool)
    }

    fn call_tool<'a>(
        &'a self,
        destination: &'a str,
        tool: &'a str,
        arguments: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, String>> {
        let pool = self.pool.load_full();
        Box::pin(async move { pool.call_tool(destination, tool, arguments).await.map_err(|e| e.to_string()) })
    }

    fn forget(&self, destination: &str) {
        self.pool.load().forget(destination);
    }

    fn reconfigure(&self, registry: &Registry) {
        let mut settings = self.settings.lock();
        if *settings != *registry.ssh() {
            *settings = registry.ssh().clone();
            self.pool.store(Arc::new(pool(&settings)));
            tracing::info!(config_file = ?settings.config_file, "ssh settings changed; new connections use them");
        }
    }
}
