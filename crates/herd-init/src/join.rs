//! The agent's two requests to the hub: the CA (before anything is
//! trusted, accepted only by its fingerprint) and the signed certificate
//! (over a connection checked against that CA, with the join token).
//! Each has one deadline for the whole exchange.

use crate::InitError;
use herd_ca::Fingerprint;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Longest one request to the hub may take, connection included.
const DEADLINE: Duration = Duration::from_secs(30);
/// Largest answer read from the hub.
const MAX_ANSWER: usize = 64 * 1024;

/// What the hub signed.
pub(crate) struct Signed {
    pub(crate) cert_pem: String,
}

/// The base URL of `hub` (`https://hub:7800/mcp` and `https://hub:7800`
/// alike), refused unless `https://`.
pub(crate) fn hub_base(hub: &str) -> Result<Url, InitError> {
    let mut url = Url::parse(hub).map_err(|e| InitError::Usage(format!("--hub is not a URL: {e}")))?;
    if url.scheme() != "https" {
        return Err(InitError::Usage(format!(
            "--hub must be the hub's https:// URL (as `herd init hub` printed it), not {}://",
            url.scheme()
        )));
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The hub's CA certificate, accepted only when its SHA-256 is `expected`.
/// The connection is not checked (nothing is trusted yet); no secret is
/// sent over it.
pub(crate) async fn fetch_ca(hub: &Url, expected: Fingerprint) -> Result<String, InitError> {
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| InitError::Hub(format!("cannot set up the HTTP client: {e}")))?;
    let url = endpoint(hub, "api/v1/ca");
    let (status, body) = exchange(client.get(url.clone())).await?;
    if !status.is_success() {
        return Err(InitError::Hub(format!(
            "{url} answered HTTP {}: is it a hub set up by `herd init hub` (with [fleet_ca])?",
            status.as_u16()
        )));
    }
    let got = Fingerprint::of_pem(&body)
        .ok_or_else(|| InitError::Hub(format!("{url} did not answer with a PEM certificate")))?;
    if got != expected {
        return Err(InitError::Fingerprint { expected: expected.to_string(), got: got.to_string() });
    }
    Ok(body)
}

/// Has the hub sign `csr` for host `name`, over a connection checked
/// against `ca_pem` only.
pub(crate) async fn sign(hub: &Url, ca_pem: &str, token: &str, name: &str, csr: &str) -> Result<Signed, InitError> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())
        .map_err(|e| InitError::Hub(format!("the hub's CA cannot be used: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .tls_certs_only([ca])
        .build()
        .map_err(|e| InitError::Hub(format!("cannot set up the HTTP client: {e}")))?;
    let url = endpoint(hub, "api/v1/certificates");
    let body = json!({ "name": name, "csr": csr }).to_string();
    let request = client
        .post(url.clone())
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    let (status, body) = exchange(request).await?;
    let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer.pointer("/error/message").and_then(Value::as_str).unwrap_or("no reason given");
        return Err(InitError::Hub(format!(
            "the hub refused the certificate request: {message} (HTTP {})",
            status.as_u16()
        )));
    }
    let cert_pem = answer["certificate"]
        .as_str()
        .ok_or_else(|| InitError::Hub(format!("{url} answered without a certificate")))?
        .to_owned();
    Ok(Signed { cert_pem })
}

fn endpoint(hub: &Url, path: &str) -> Url {
    hub.join(path).unwrap_or_else(|_| hub.clone())
}

/// Sends `request`; the status and the body (at most [`MAX_ANSWER`] bytes).
async fn exchange(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, String), InitError> {
    let mut response =
        request.send().await.map_err(|e| InitError::Hub(format!("cannot reach the hub: {}", chain(&e))))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| InitError::Hub(format!("the hub's answer broke off: {}", chain(&e))))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            return Err(InitError::Hub(format!("the hub's answer is larger than {MAX_ANSWER} bytes")));
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// An error and its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
