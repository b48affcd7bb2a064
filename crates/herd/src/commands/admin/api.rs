//! A client of a hub's admin API (`/api/v1/...` beside its MCP endpoint).
//!
//! The API lives at the root of the hub's origin whatever its MCP path:
//! `HERD_URL=https://hub.lan:7800/mcp` gives `https://hub.lan:7800/api/v1/`.
//! Every request is bounded by one deadline covering the whole exchange;
//! the token goes only in the `Authorization` header. An `https://` hub is
//! verified against `--ca` (`HERD_CA`) when given, else the system's roots.

use crate::cli::ClientArgs;
use anyhow::{Context as _, anyhow, bail};
use herd_admin::AuditQuery;
use herd_store::AuditRecord;
use reqwest::{Method, StatusCode, Url, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Longest one admin request may take, connection included.
const DEADLINE: Duration = Duration::from_secs(30);

/// A hub's admin API, with the caller's token.
pub(crate) struct AdminApi {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl AdminApi {
    pub(crate) fn new(client: &ClientArgs) -> anyhow::Result<Self> {
        let mut base = Url::parse(&client.url)
            .with_context(|| format!("HERD_URL (--url) is not a URL: {}", herd_proto::redact_url(&client.url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("HERD_URL (--url) must be http:// or https://");
        }
        base.set_path("/api/v1");
        base.set_query(None);
        base.set_fragment(None);
        let token = client.token.clone().filter(|t| !t.is_empty()).or_else(crate::home::stored_token);
        let token =
            token.context("no token: set HERD_TOKEN to an admin's token (or use --home on the hub's machine)")?;
        let mut http = reqwest::Client::builder().timeout(DEADLINE);
        if let Some(path) = &client.ca {
            let roots = herd_upstream::TrustedCa::load(path)?.roots().map_err(|e| anyhow!(e))?;
            http = http.tls_certs_only(roots);
        }
        let http = http.build().context("cannot set up the HTTP client")?;
        Ok(Self { http, base, token })
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one request; the answer's body on success, else an error with
    /// the API's message.
    async fn exchange(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> anyhow::Result<String> {
        let shown = herd_proto::redact_url(url.as_str()).into_owned();
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body);
        }
        let response = request.send().await.map_err(|e| match herd_upstream::tls_failure(&e) {
            Some(why) => anyhow!("cannot reach the hub at {shown}: {why}"),
            None => anyhow!(e).context(format!("cannot reach the hub at {shown}")),
        })?;
        let status = response.status();
        let text = response.text().await.with_context(|| format!("the hub's answer from {shown} broke off"))?;
        if status.is_success() {
            return Ok(text);
        }
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(match status {
            StatusCode::UNAUTHORIZED => anyhow!("the hub refused the credentials: {message}"),
            StatusCode::NOT_FOUND if message.is_empty() => anyhow!("the hub at {shown} has no admin API (HTTP 404)"),
            _ => anyhow!("{message} (HTTP {})", status.as_u16()),
        })
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &[&str], query: &[(&str, String)]) -> anyhow::Result<T> {
        let text = self.exchange(Method::GET, self.url(path, query), None).await?;
        serde_json::from_str(&text).context("the hub's answer is not what the admin API sends")
    }

    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<T> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let text = self.exchange(method, self.url(path, &[]), body).await?;
        serde_json::from_str(&text).context("the hub's answer is not what the admin API sends")
    }

    /// The records `query` selects, from the API's NDJSON.
    pub(crate) async fn audit(&self, query: &AuditQuery) -> anyhow::Result<Vec<AuditRecord>> {
        let text = self.exchange(Method::GET, self.url(&["audit"], &query.pairs()), None).await?;
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).context("the hub sent an audit line that is not a record"))
            .collect()
    }
}
