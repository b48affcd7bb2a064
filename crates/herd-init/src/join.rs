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

/// The hub's CA certificate, accepted only when its SHA-256 is `expected`,
/// and the names of the certificate the hub served. The connection is not
/// checked (nothing is trusted yet); no secret is sent over it.
pub(crate) async fn fetch_ca(hub: &Url, expected: Fingerprint) -> Result<(String, Vec<String>), InitError> {
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .map_err(|e| InitError::Hub(format!("cannot set up the HTTP client: {e}")))?;
    let url = endpoint(hub, "api/v1/ca");
    let (status, body, served) = exchange(client.get(url.clone())).await?;
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
    Ok((body, served))
}

/// Refuses a `--hub` whose host the hub's certificate does not name: the
/// signing request over the checked connection would fail with a TLS
/// error, this says what to do instead.
pub(crate) fn check_hub_name(hub: &Url, served: &[String]) -> Result<(), InitError> {
    let host = match hub.host() {
        Some(url::Host::Domain(name)) => name.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Ok(()),
    };
    if served.is_empty() || served.contains(&host) {
        return Ok(());
    }
    Err(InitError::Usage(format!(
        "the hub's certificate names {} but not {host}: use one of those in --hub, or add it on the hub \
         with `herd init hub --san {host} --force`",
        served.join(", ")
    )))
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
    let (status, body, _) = exchange(request).await?;
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

/// Sends `request`; the status, the body (at most [`MAX_ANSWER`] bytes)
/// and the names in the certificate the server presented (when asked for).
async fn exchange(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, String, Vec<String>), InitError> {
    let mut response =
        request.send().await.map_err(|e| InitError::Hub(format!("cannot reach the hub: {}", chain(&e))))?;
    let status = response.status();
    let served = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(herd_ca::certificate_names_der)
        .map(|(names, _)| names)
        .unwrap_or_default();
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| InitError::Hub(format!("the hub's answer broke off: {}", chain(&e))))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            return Err(InitError::Hub(format!("the hub's answer is larger than {MAX_ANSWER} bytes")));
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned(), served))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_url_the_certificate_does_not_name_is_refused_with_what_to_do() {
        let served = vec!["hub.lan".to_owned(), "127.0.0.1".to_owned()];
        for ok in ["https://HUB.lan:7800", "https://127.0.0.1:7800/mcp"] {
            check_hub_name(&hub_base(ok).unwrap(), &served).unwrap();
        }
        let refused = check_hub_name(&hub_base("https://10.0.0.5:7800").unwrap(), &served).unwrap_err().to_string();
        assert!(refused.contains("names hub.lan, 127.0.0.1 but not 10.0.0.5"), "{refused}");
        assert!(refused.contains("herd init hub --san 10.0.0.5 --force"), "{refused}");
        let plain = hub_base("http://hub.lan:7800").unwrap_err().to_string();
        assert!(plain.contains("https://"), "{plain}");
    }
}
