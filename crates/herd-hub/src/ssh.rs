//! The ssh [`Fallback`]: herd-fleet's [`SshPool`] behind the hub's
//! fallback contract.

use crate::Fallback;
use herd_fleet::{SshConfig, SshPool, SshSettings};
use herd_proto::BoxFuture;
use serde_json::{Map, Value};

/// Runs agent tools over ssh, one reused connection per destination.
pub struct SshFallback {
    pool: SshPool,
}

impl SshFallback {
    /// A fallback with the registry's `[ssh]` settings.
    pub fn new(settings: &SshSettings) -> Self {
        let config = SshConfig {
            config_file: settings.config_file.clone(),
            connect_timeout: settings.connect_timeout,
            call_timeout: settings.call_timeout,
            keepalive_interval: settings.keepalive,
            ..SshConfig::default()
        };
        Self { pool: SshPool::new(config) }
    }
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
        Box::pin(async move { self.pool.call_tool(destination, tool, arguments).await.map_err(|e| e.to_string()) })
    }

    fn forget(&self, destination: &str) {
        self.pool.forget(destination);
    }
}
