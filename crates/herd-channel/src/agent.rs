//! The agent's end: dial the hub, upgrade, serve HTTP/2 over the upgraded
//! connection until it ends, then dial again after a backoff.
//!
//! The backoff starts at `reconnect_min` after a connection that failed or
//! lasted less than a heartbeat, doubles up to `reconnect_max`, and gets up
//! to a quarter of random jitter, so a hub restart is not met by every
//! agent at the same instant. The agent PINGs the hub every `heartbeat`
//! too and drops a connection whose PING got no answer within `timeout`,
//! so a silently dead path is noticed from this end as well.

use crate::{CHANNEL_PATH, HOST_HEADER, PROTOCOL, SESSION_HEADER};
use herd_upstream::TrustedCa;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rand::Rng as _;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Settings of an agent's channel. `Debug` never shows the token.
#[derive(Clone)]
pub struct AgentChannelConfig {
    /// The hub's base URL (`https://hub.lan:7800`); the channel is opened
    /// at [`CHANNEL_PATH`] under it.
    pub hub: String,
    /// The bearer token the hub knows this agent by.
    pub token: String,
    /// The host name the agent joins as.
    pub name: String,
    /// The session id kept in `$HERD_HOME` (see [`crate::session_id`]).
    pub session: String,
    /// For an `https://` hub: the CA to check it against instead of the
    /// system's roots.
    pub ca: Option<TrustedCa>,
    /// Limit for the TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// Limit for the upgrade's answer.
    pub exchange_timeout: Duration,
    /// How often the agent PINGs the hub (30 s).
    pub heartbeat: Duration,
    /// How long an unanswered PING is waited for (60 s).
    pub timeout: Duration,
    /// First wait before dialling again (5 s).
    pub reconnect_min: Duration,
    /// Longest wait between attempts (60 s).
    pub reconnect_max: Duration,
    /// Requests the hub may have open over the channel at once (16,384):
    /// each MCP call or LLM stream is one, and a request over the limit
    /// waits at the hub for a slot.
    pub max_streams: u32,
}

impl AgentChannelConfig {
    /// Defaults for joining `hub` as `name` with `token` under `session`.
    pub fn new(hub: impl Into<String>, token: impl Into<String>, name: impl Into<String>, session: String) -> Self {
        Self {
            hub: hub.into(),
            token: token.into(),
            name: name.into(),
            session,
            ca: None,
            connect_timeout: Duration::from_secs(5),
            exchange_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            reconnect_min: Duration::from_secs(5),
            reconnect_max: Duration::from_secs(60),
            max_streams: 16_384,
        }
    }
}

impl std::fmt::Debug for AgentChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentChannelConfig")
            .field("hub", &herd_proto::redact_url(&self.hub))
            .field("token", &"***")
            .field("name", &self.name)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

/// Why one attempt to open the channel failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The settings cannot work (a bad URL, an unreadable CA).
    #[error("{0}")]
    Config(String),
    /// The hub could not be reached.
    #[error("cannot reach the hub: {0}")]
    Connect(String),
    /// The hub refused the upgrade.
    #[error("the hub refused the channel (HTTP {status}): {body}")]
    Refused {
        /// Its status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

/// An agent's channel to its hub.
pub struct AgentChannel {
    config: AgentChannelConfig,
    client: reqwest::Client,
    url: reqwest::Url,
}

impl AgentChannel {
    /// A channel with `config`; nothing is dialled yet.
    pub fn new(config: AgentChannelConfig) -> Result<Self, ChannelError> {
        let base = reqwest::Url::parse(&config.hub).map_err(|e| ChannelError::Config(format!("hub URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ChannelError::Config(format!("hub URL must be http:// or https://, not {}", base.scheme())));
        }
        let url = base.join(CHANNEL_PATH).map_err(|e| ChannelError::Config(format!("hub URL: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(0);
        if let Some(ca) = &config.ca {
            builder = builder.tls_certs_only(ca.roots().map_err(ChannelError::Config)?);
        }
        let client = builder.build().map_err(|e| ChannelError::Config(e.to_string()))?;
        Ok(Self { config, client, url })
    }

    /// Keeps the channel open, serving `app` over it, until `shutdown`.
    pub async fn run(self, app: axum::Router, shutdown: CancellationToken) {
        let mut delay = self.config.reconnect_min;
        loop {
            let started = tokio::time::Instant::now();
            let outcome = tokio::select! {
                () = shutdown.cancelled() => return,
                outcome = self.serve_once(app.clone(), &shutdown) => outcome,
            };
            match outcome {
                Ok(()) if shutdown.is_cancelled() => return,
                Ok(()) => tracing::info!(hub = %self.url, "channel closed; connecting again"),
                Err(err) => tracing::warn!(hub = %self.url, %err, "channel not open"),
            }
            if started.elapsed() > self.config.heartbeat {
                delay = self.config.reconnect_min;
            }
            let jitter = rand::rng().random_range(0.0..0.25);
            let wait = delay.mul_f64(1.0 + jitter);
            tracing::debug!(wait_s = wait.as_secs_f64(), "waiting before the next attempt");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            delay = (delay * 2).min(self.config.reconnect_max);
        }
    }

    /// One connection: the upgrade, then HTTP/2 serving until it ends.
    async fn serve_once(&self, app: axum::Router, shutdown: &CancellationToken) -> Result<(), ChannelError> {
        let request = self
            .client
            .get(self.url.clone())
            .bearer_auth(&self.config.token)
            .header(http::header::CONNECTION, "upgrade")
            .header(http::header::UPGRADE, PROTOCOL)
            .header(HOST_HEADER, &self.config.name)
            .header(SESSION_HEADER, &self.config.session)
            .send();
        // Bounds the answer only: the upgraded connection lives on.
        let response = tokio::time::timeout(self.config.exchange_timeout, request)
            .await
            .map_err(|_| ChannelError::Connect(format!("no answer within {:?}", self.config.exchange_timeout)))?
            .map_err(|e| ChannelError::Connect(herd_upstream::with_causes(&e.without_url())))?;
        let status = response.status();
        if status != http::StatusCode::SWITCHING_PROTOCOLS {
            let body = tokio::time::timeout(self.config.exchange_timeout, response.text()).await;
            let body = body.ok().and_then(Result::ok).unwrap_or_default();
            return Err(ChannelError::Refused {
                status: status.as_u16(),
                body: body.trim().chars().take(300).collect(),
            });
        }
        let upgraded = response.upgrade().await.map_err(|e| ChannelError::Connect(herd_upstream::with_causes(&e)))?;
        tracing::info!(hub = %self.url, name = %self.config.name, "channel connected");
        let service = TowerToHyperService::new(app);
        let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(self.config.heartbeat)
            .keep_alive_timeout(self.config.timeout)
            .max_concurrent_streams(self.config.max_streams)
            .serve_connection(TokioIo::new(upgraded), service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::info!(%err, "channel connection ended");
                }
            }
            () = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
            }
        }
        Ok(())
    }
}
