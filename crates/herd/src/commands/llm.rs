//! `herd llm list` and `herd llm chat`: the fleet's LLMs through a running
//! hub's OpenAI-compatible API (`/v1/...` at the root of `HERD_URL`'s
//! origin), with the same URL, token and CA as every client verb.
//!
//! `chat` prints each token as its event arrives. There is no limit on a
//! whole answer, only on the connect, the first byte and each pause.

use super::client::print_table;
use crate::cli::{ClientArgs, LlmCommand};
use anyhow::{Context as _, anyhow, bail};
use reqwest::Url;
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::Duration;

/// Limit for the connection to the hub.
const CONNECT: Duration = Duration::from_secs(10);
/// Limit for any one read: the hub's first-token limit, plus a margin.
const READ: Duration = Duration::from_secs(330);
/// Limit for the whole `list` exchange.
const LIST: Duration = Duration::from_secs(30);

pub(crate) async fn run(command: LlmCommand) -> anyhow::Result<()> {
    match command {
        LlmCommand::List { json, client } => list(&client, json).await,
        LlmCommand::Chat { model, prompt, client } => chat(&client, &model, &prompt).await,
    }
}

/// The HTTP client, the API's base URL and the token.
fn connect(client: &ClientArgs) -> anyhow::Result<(reqwest::Client, Url, String)> {
    let mut base = Url::parse(&client.url)
        .with_context(|| format!("HERD_URL (--url) is not a URL: {}", herd_proto::redact_url(&client.url)))?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!("HERD_URL (--url) must be http:// or https://");
    }
    base.set_path("/v1/");
    base.set_query(None);
    base.set_fragment(None);
    let token = client.token.clone().filter(|t| !t.is_empty()).or_else(crate::home::stored_token);
    let token = token.context("no token: set HERD_TOKEN (or run `herd up` once on this machine)")?;
    let mut http = reqwest::Client::builder().connect_timeout(CONNECT).read_timeout(READ);
    if let Some(path) = &client.ca {
        let roots = herd_upstream::TrustedCa::load(path)?.roots().map_err(|e| anyhow!(e))?;
        http = http.tls_certs_only(roots);
    }
    Ok((http.build().context("cannot set up the HTTP client")?, base, token))
}

/// The error a refused request names.
async fn refused(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let text = tokio::time::timeout(LIST, response.text()).await.ok().and_then(Result::ok).unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect());
    anyhow!("{message} (HTTP {})", status.as_u16())
}

async fn list(client: &ClientArgs, json: bool) -> anyhow::Result<()> {
    let (http, base, token) = connect(client)?;
    let url = base.join("models")?;
    let shown = herd_proto::redact_url(url.as_str()).into_owned();
    let exchange = async {
        let response = http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("cannot reach the hub at {shown}"))?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let text = response.text().await.context("the hub's answer broke off")?;
        serde_json::from_str::<Value>(&text).context("the hub's answer is not a model list")
    };
    let models = tokio::time::timeout(LIST, exchange)
        .await
        .map_err(|_| anyhow!("the hub at {shown} did not answer within {LIST:?}"))??;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
        return Ok(());
    }
    let mut rows = vec![["ID", "KIND", "HOSTS", "STATE", "OWNER"].map(String::from).to_vec()];
    for model in models["data"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let herd = &model["herd"];
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let hosts: Vec<&str> =
            herd["hosts"].as_array().map(Vec::as_slice).unwrap_or_default().iter().filter_map(Value::as_str).collect();
        rows.push(vec![
            text(&model["id"]),
            text(&herd["kind"]),
            if hosts.is_empty() { "-".into() } else { hosts.join(",") },
            text(&herd["state"]),
            text(&herd["owner"]),
        ]);
    }
    print_table(&rows);
    Ok(())
}

async fn chat(client: &ClientArgs, model: &str, prompt: &str) -> anyhow::Result<()> {
    let (http, base, token) = connect(client)?;
    let url = base.join("chat/completions")?;
    let body = json!({ "model": model, "stream": true, "messages": [{ "role": "user", "content": prompt }] });
    let shown = herd_proto::redact_url(url.as_str()).into_owned();
    let mut response = http
        .post(url)
        .bearer_auth(&token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .with_context(|| format!("cannot reach the hub at {shown}"))?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let mut pending = Vec::new();
    let mut out = std::io::stdout();
    while let Some(chunk) = response.chunk().await.context("the answer broke off")? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim_end().strip_prefix("data:").map(str::trim) else { continue };
            if data == "[DONE]" {
                writeln!(out)?;
                return Ok(());
            }
            let Ok(event) = serde_json::from_str::<Value>(data) else { continue };
            if let Some(error) = event.get("error") {
                writeln!(out)?;
                bail!("{}", error["message"].as_str().unwrap_or("the answer ended with an error"));
            }
            if let Some(text) = event["choices"][0]["delta"]["content"].as_str() {
                write!(out, "{text}")?;
                out.flush()?;
            }
        }
    }
    writeln!(out)?;
    Ok(())
}
