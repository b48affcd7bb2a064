//! Sending one request to another replica: a new HTTP/1.1 connection per
//! request, a deadline on the connect and on the response head, the bodies
//! streamed both ways frame by frame (an SSE stream flows event by event).

use crate::{HOP_HEADER, Replica, ReplicaError};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// Why a request did not get another replica's response head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// Nothing was sent: the replica could not be reached.
    #[error("cannot reach replica at {0}: {1}")]
    Unreachable(String, String),
    /// The request may have been sent; no answer came.
    #[error("replica at {0} gave no answer: {1}")]
    NoAnswer(String, String),
}

/// Headers that describe one connection, not the request: never passed on.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Checks that `address` is `http://host[:port]` and nothing more.
pub(crate) fn check_address(address: &str) -> Result<(), ReplicaError> {
    let bad = || ReplicaError::Address(address.to_owned());
    let uri: http::Uri = address.parse().map_err(|_| bad())?;
    let bare_path = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    if uri.scheme_str() != Some("http") || uri.authority().is_none() || !bare_path || address.ends_with('/') {
        return Err(bad());
    }
    Ok(())
}

/// Removes the headers of one connection (and those it names).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

impl Replica {
    /// Sends `request` (its path and query, method, headers and body) to
    /// the replica at `address`, marked as forwarded, and returns the
    /// response head with the body still streaming.
    pub(crate) async fn forward<B>(
        &self,
        address: &str,
        request: http::Request<B>,
    ) -> Result<http::Response<Incoming>, ForwardError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let config = &self.inner.config;
        let unreachable = |why: String| ForwardError::Unreachable(address.to_owned(), why);
        let uri: http::Uri = address.parse().map_err(|_| unreachable("not a URL".into()))?;
        let authority = uri.authority().ok_or_else(|| unreachable("no host".into()))?.clone();
        let target =
            (authority.host().trim_start_matches('[').trim_end_matches(']'), authority.port_u16().unwrap_or(80));
        let connect = async {
            let stream = tokio::net::TcpStream::connect(target).await.map_err(|e| unreachable(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| unreachable(e.to_string()))
        };
        let (mut sender, connection) = tokio::time::timeout(config.connect_timeout, connect)
            .await
            .map_err(|_| unreachable(format!("no connection within {:?}", config.connect_timeout)))??;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "forwarded exchange ended early");
            }
        });
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        parts.uri = path.parse().map_err(|_| unreachable("bad path".into()))?;
        strip_hop_by_hop(&mut parts.headers);
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| unreachable("bad host".into()))?;
        parts.headers.insert(header::HOST, host);
        let secret = HeaderValue::from_str(&self.inner.secret).map_err(|_| unreachable("bad secret".into()))?;
        parts.headers.insert(HOP_HEADER, secret);
        let request = http::Request::from_parts(parts, body);
        let no_answer = |why: String| ForwardError::NoAnswer(address.to_owned(), why);
        let mut response = tokio::time::timeout(config.response_timeout, sender.send_request(request))
            .await
            .map_err(|_| no_answer(format!("no answer within {:?}", config.response_timeout)))?
            .map_err(|e| no_answer(herd_upstream::with_causes(&e)))?;
        strip_hop_by_hop(response.headers_mut());
        Ok(response)
    }
}
