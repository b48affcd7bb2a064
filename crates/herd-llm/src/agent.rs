//! The agent's end of the relay: its `[[llm]]` providers, published to the
//! hub over the channel.
//!
//! [`Providers`] is built once at start from the config ([`LlmConfig`],
//! [`PresetConfig`]); API keys are read from the environment then, sent
//! upstream only, and never shown (`Debug` redacts them). Its
//! [`Providers::routes`] answer the two requests of [`crate::wire`]: the
//! listing, and forwarding to a provider with the answer streamed back as
//! it arrives. They are served over the channel only: the hub is the one
//! peer allowed to use them.
//!
//! A background task probes every provider's `GET {url}/models` at start
//! and then every 30 s: one that answers is active; one that does not is
//! hibernating when it has a wake recipe, inactive otherwise. A request
//! for a provider that is not active runs its recipe once (concurrent
//! requests share it), then waits until the provider answers.

mod body;
mod config;
mod forward;
mod wake;

pub use config::{ConfigError, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_WAIT, LlmConfig, PresetConfig, Wake, validate};

use crate::wire;
use herd_tools::ChildEnv;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use wake::Provider;

/// How often and how long the agent looks at its providers.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between two probes of every provider (30 s).
    pub probe_every: Duration,
    /// Between two looks at a waking provider (250 ms).
    pub wake_poll: Duration,
    /// For a provider's answer head, after any wake (300 s).
    pub first_byte: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            probe_every: Duration::from_secs(30),
            wake_poll: Duration::from_millis(250),
            first_byte: Duration::from_secs(300),
        }
    }
}

/// The agent's providers and presets, and the routes serving them to the
/// hub. Cheap to clone; the probes stop when the last clone is dropped.
#[derive(Clone)]
pub struct Providers {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    providers: BTreeMap<String, Arc<Provider>>,
    presets: Vec<wire::Preset>,
    client: reqwest::Client,
    child_env: ChildEnv,
    timing: Timing,
    /// Rounds of probes done so far.
    probe_rounds: tokio::sync::watch::Sender<u64>,
}

impl Providers {
    /// Checks `llms` and `presets`, reads their API keys, and starts
    /// probing (in the current Tokio runtime) with the default [`Timing`].
    /// Wake commands inherit `child_env`.
    pub fn start(llms: Vec<LlmConfig>, presets: Vec<PresetConfig>, child_env: ChildEnv) -> Result<Self, ConfigError> {
        Self::start_with(llms, presets, child_env, Timing::default())
    }

    /// [`Self::start`] with `timing`.
    pub fn start_with(
        llms: Vec<LlmConfig>,
        presets: Vec<PresetConfig>,
        child_env: ChildEnv,
        timing: Timing,
    ) -> Result<Self, ConfigError> {
        Self::build(llms, presets, child_env, timing, &|var| std::env::var(var).ok())
    }

    /// [`Self::start_with`], the API keys looked up by `key`.
    pub(crate) fn build(
        llms: Vec<LlmConfig>,
        presets: Vec<PresetConfig>,
        child_env: ChildEnv,
        timing: Timing,
        key: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        validate(&llms, &presets)?;
        let mut providers = BTreeMap::new();
        for llm in llms {
            let provider = Provider::new(llm, key)?;
            providers.insert(provider.config.name.clone(), Arc::new(provider));
        }
        let presets = presets
            .into_iter()
            .map(|p| wire::Preset {
                name: p.name,
                llm: p.llm,
                system: p.system,
                params: p.params,
                visibility: p.visibility,
            })
            .collect();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::new("llm", "*", format!("cannot make an HTTP client: {e}")))?;
        let probe_rounds = tokio::sync::watch::Sender::new(0);
        let inner = Arc::new(Inner { providers, presets, client, child_env, timing, probe_rounds });
        tokio::spawn(wake::probe_forever(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The routes answering the hub: `GET` [`wire::LISTING_PATH`] and
    /// `POST` [`wire::FORWARD_PREFIX`]`{provider}/{*endpoint}`.
    pub fn routes(&self) -> axum::Router {
        forward::routes(self.inner.clone())
    }

    /// The providers and presets, with the state each was last seen in.
    pub fn listing(&self) -> wire::Listing {
        self.inner.listing()
    }

    /// Whether the config declares no provider.
    pub fn is_empty(&self) -> bool {
        self.inner.providers.is_empty()
    }
}

impl Inner {
    fn listing(&self) -> wire::Listing {
        let providers = self
            .providers
            .values()
            .map(|p| wire::Provider {
                name: p.config.name.clone(),
                pool: p.config.pool.clone(),
                visibility: p.config.visibility,
                max_concurrency: p.config.max_concurrency,
                state: p.state(),
                wakes: p.config.wake.is_some(),
            })
            .collect();
        wire::Listing { providers, presets: self.presets.clone() }
    }
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("providers", &self.inner.providers.values().collect::<Vec<_>>())
            .field("presets", &self.inner.presets.iter().map(|p| &p.name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
