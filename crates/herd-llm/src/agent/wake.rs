//! A provider's state: what the probes last saw, the requests in flight,
//! and the one wake concurrent requests share.

use super::{ConfigError, Inner, LlmConfig, Wake};
use crate::wire::ProviderState;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use herd_tools::ChildEnv;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// How long a probe of `GET {url}/models` may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(5);

/// A wake under way, awaited by every request that needs it.
type Waking = Shared<BoxFuture<'static, Result<(), String>>>;

/// One `[[llm]]` at run time.
pub(crate) struct Provider {
    pub(crate) config: LlmConfig,
    /// `url` without its trailing `/`.
    pub(crate) base: String,
    api_key: Option<String>,
    state: AtomicU8,
    in_flight: AtomicU32,
    waking: Mutex<Option<Waking>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.config.name)
            .field("model", &self.config.upstream_model())
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("state", &self.state())
            .field("in_flight", &self.in_flight.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn encode(state: ProviderState) -> u8 {
    match state {
        ProviderState::Active => 0,
        ProviderState::Hibernating => 1,
        ProviderState::Inactive => 2,
    }
}

/// A place among a provider's `max_concurrency`, given back when dropped.
pub(crate) struct Slot(Arc<Provider>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Provider {
    /// `config` at run time, its API key the value `key` gives its
    /// `api_key_env`.
    pub(crate) fn new(config: LlmConfig, key: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let api_key = match &config.api_key_env {
            None => None,
            Some(var) => match key(var) {
                Some(key) if !key.is_empty() => Some(key),
                _ => {
                    return Err(ConfigError::new(
                        "llm",
                        &config.name,
                        format!("api_key_env names {var}, which is not set"),
                    ));
                }
            },
        };
        let base = config.url.trim_end_matches('/').to_owned();
        let provider = Self {
            config,
            base,
            api_key,
            state: AtomicU8::new(0),
            in_flight: AtomicU32::new(0),
            waking: Mutex::new(None),
        };
        provider.set_state(provider.down_state());
        Ok(provider)
    }

    pub(crate) fn state(&self) -> ProviderState {
        match self.state.load(Ordering::SeqCst) {
            0 => ProviderState::Active,
            1 => ProviderState::Hibernating,
            _ => ProviderState::Inactive,
        }
    }

    pub(super) fn set_state(&self, state: ProviderState) {
        self.state.store(encode(state), Ordering::SeqCst);
    }

    /// The state of this provider when it does not answer.
    fn down_state(&self) -> ProviderState {
        if self.config.wake.is_some() { ProviderState::Hibernating } else { ProviderState::Inactive }
    }

    /// Notes that it did not answer a request.
    pub(crate) fn mark_down(&self) {
        self.set_state(self.down_state());
    }

    /// A place for one more request, unless it is at `max_concurrency`.
    pub(crate) fn claim(self: &Arc<Self>) -> Option<Slot> {
        let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(self.clone());
        (before < self.config.max_concurrency).then_some(slot)
    }

    /// `request` with the provider's key.
    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder, endpoint: &str) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) if endpoint == "messages" => request.bearer_auth(key).header("x-api-key", key),
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Whether `GET {url}/models` answers with a success within the
    /// probe's deadline.
    async fn answers(&self, client: &reqwest::Client) -> bool {
        let probe = async {
            let response = self.authorize(client.get(format!("{}/models", self.base)), "models").send().await?;
            let ok = response.status().is_success();
            response.bytes().await?;
            Ok::<bool, reqwest::Error>(ok)
        };
        matches!(tokio::time::timeout(PROBE_DEADLINE, probe).await, Ok(Ok(true)))
    }

    async fn probe(&self, client: &reqwest::Client) {
        let state = if self.answers(client).await { ProviderState::Active } else { self.down_state() };
        self.set_state(state);
    }

    /// Returns once the provider may be sent a request: at once when it is
    /// active or has no recipe, else after the wake every concurrent
    /// request shares.
    pub(crate) async fn ready(self: &Arc<Self>, inner: &Inner) -> Result<(), String> {
        if self.state() == ProviderState::Active || self.config.wake.is_none() {
            return Ok(());
        }
        let waking = {
            let mut slot = self.waking.lock();
            match slot.as_ref() {
                Some(waking) if waking.peek().is_none() => waking.clone(),
                _ => {
                    let task = tokio::spawn(self.clone().wake(
                        inner.client.clone(),
                        inner.child_env.clone(),
                        inner.timing.wake_poll,
                    ));
                    let waking = async move { task.await.unwrap_or_else(|e| Err(format!("the wake stopped: {e}"))) }
                        .boxed()
                        .shared();
                    *slot = Some(waking.clone());
                    waking
                }
            }
        };
        waking.await
    }

    /// Runs the recipe (unless the provider answers already), then waits
    /// until it answers, all within `max_wait`.
    async fn wake(self: Arc<Self>, client: reqwest::Client, child_env: ChildEnv, poll: Duration) -> Result<(), String> {
        let Some(recipe) = self.config.wake.clone() else { return Ok(()) };
        let max_wait = recipe.max_wait();
        let waking = async {
            if self.answers(&client).await {
                return Ok(());
            }
            tracing::info!(llm = %self.config.name, "waking the provider");
            run(&recipe, &client, &child_env).await?;
            loop {
                if self.answers(&client).await {
                    return Ok(());
                }
                tokio::time::sleep(poll).await;
            }
        };
        let woken = match tokio::time::timeout_at(Instant::now() + max_wait, waking).await {
            Ok(woken) => woken,
            Err(_) => Err(format!("the provider did not answer within {}s of its wake", max_wait.as_secs())),
        };
        match &woken {
            Ok(()) => self.set_state(ProviderState::Active),
            Err(err) => tracing::warn!(llm = %self.config.name, %err, "the wake failed"),
        }
        woken
    }
}

/// Runs a wake recipe once.
async fn run(recipe: &Wake, client: &reqwest::Client, child_env: &ChildEnv) -> Result<(), String> {
    match recipe {
        Wake::Command { argv, .. } => {
            let (program, args) = argv.split_first().ok_or("the wake command is empty")?;
            let mut command = tokio::process::Command::new(program);
            command.args(args);
            child_env.scrub(&mut command);
            command
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true);
            let status = command.status().await.map_err(|e| format!("cannot run the wake command {program:?}: {e}"))?;
            if status.success() { Ok(()) } else { Err(format!("the wake command {program:?} failed ({status})")) }
        }
        Wake::Url { url, method, .. } => {
            let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
            let response = client
                .request(method, url)
                .send()
                .await
                .map_err(|e| format!("the wake URL failed: {}", e.without_url()))?;
            let status = response.status();
            if status.is_success() { Ok(()) } else { Err(format!("the wake URL answered {status}")) }
        }
    }
}

/// Probes every provider of `inner` at once, then again every
/// `probe_every`, until `inner` is gone.
pub(crate) async fn probe_forever(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else { return };
        let every = strong.timing.probe_every;
        let probes = strong.providers.values().map(|p| p.probe(&strong.client));
        futures_util::future::join_all(probes).await;
        strong.probe_rounds.send_modify(|n| *n += 1);
        drop(strong);
        tokio::time::sleep(every).await;
    }
}
