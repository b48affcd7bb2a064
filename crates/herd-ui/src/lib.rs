//! The fleet status page at `/ui`: what a person signed in with a herd
//! token may see of the fleet, live in a browser.
//!
//! MCP clients see the fleet through tools; people want a page: every host
//! with its state, paths, probe latency and last error, each agent's
//! supervised servers, and the recent audit log. This crate serves that
//! page from the hub's own listener (`herd hub`, `herd up`), beside `/mcp`,
//! as plain HTML, CSS and JavaScript compiled into the binary
//! (`assets/`), polling small JSON endpoints for live updates.
//!
//! | route | does |
//! |---|---|
//! | `GET /ui/login`, `POST /ui/login` | the sign-in form; a token the server's authenticator accepts goes into the cookie |
//! | `POST /ui/logout` | clears the cookie |
//! | `GET /ui` | the page (signed in), else a redirect to the form |
//! | `GET /ui/assets/{ui.js,ui.css}` | the script and style sheet |
//! | `GET /ui/api/me` | who is signed in, and whether they may read the audit log |
//! | `GET /ui/api/hosts` | the hosts the principal may see, with their health |
//! | `GET /ui/api/hosts/{host}/servers` | that agent's supervised servers (`servers_list`) |
//! | `GET /ui/api/hosts/{host}/servers/{name}/logs` | the last lines of one server's stderr (`servers_logs`) |
//! | `GET /ui/api/audit?user=&tool=&host=&outcome=&since=&limit=` | recent audit records, newest first |
//! | `GET /ui/api/models` | the LLMs, pools and presets the principal may use, with their state and load (when the server relays LLMs) |
//!
//! **Who sees what.** The cookie carries the token itself and every request
//! authenticates it again with the server's own authenticator (so a
//! revoked or expired token is signed out on its next request), giving the
//! same principal an MCP request with that token gets. Everything shown is
//! decided by [`herd_auth::allows`], the one policy: a host is listed when
//! [`Action::SeeHost`](herd_auth::Action::SeeHost) is allowed, the audit
//! log when [`AdminTask::ReadAudit`](herd_auth::AdminTask::ReadAudit) is,
//! and servers are read by calling `remote_call` through the hub's guarded
//! and audited tools backend, exactly as an MCP client would.
//!
//! **Browser safety** (`security.rs`, `session.rs`): the cookie is
//! `HttpOnly; SameSite=Strict; Path=/ui` (`Secure` over TLS), so scripts
//! never read the token and other sites' requests never carry it. Sign-in
//! and sign-out change state, so they also require a same-origin request
//! (`Sec-Fetch-Site: same-origin`, or, from a browser that does not send
//! it, an `Origin` naming this server); that check, not SameSite alone, is
//! what refuses a cross-site form post, and it is what stops a login CSRF
//! (a page signing the visitor in with its author's token), which SameSite
//! does not: that request carries no cookie to begin with. The
//! `Host` check against DNS rebinding is the MCP path's. Every answer
//! carries a Content-Security-Policy without inline scripts or styles,
//! `frame-ancestors 'none'`, `nosniff` and `Referrer-Policy: no-referrer`.

mod api;
mod assets;
mod reply;
mod security;
mod session;
#[cfg(test)]
mod tests;

use axum::routing::{get, post};
use herd_hub::Hub;
use herd_proto::Backend;
use herd_store::Store;
use herd_transport::http::HttpConfig;
use std::sync::Arc;

pub use session::{COOKIE, LOGIN_BODY_LIMIT};

/// What the status page reads: the hub's fleet, the state database's audit
/// log, the hub's own tools (guarded and audited) for the agents'
/// servers, and, on a server that relays LLMs, its models.
#[derive(Clone)]
pub struct StatusPage {
    hub: Hub,
    store: Store,
    tools: Arc<dyn Backend>,
    models: Option<Models>,
}

/// The models a principal may use, as the relay's `GET /v1/models` answers
/// them (`{"data": [...]}`): the same list, from the same policy.
pub type Models = Arc<dyn Fn(&herd_auth::Principal) -> serde_json::Value + Send + Sync>;

impl std::fmt::Debug for StatusPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusPage").field("store", &self.store).finish_non_exhaustive()
    }
}

impl StatusPage {
    /// The page over `hub`, reading audit records from `store` and calling
    /// agents' tools through `tools` (see [`Hub::audited_tools`]).
    pub fn new(hub: Hub, store: Store, tools: Arc<dyn Backend>) -> Self {
        Self { hub, store, tools, models: None }
    }

    /// Shows the LLMs `models` lists for each principal.
    pub fn with_models(mut self, models: Models) -> Self {
        self.models = Some(models);
        self
    }

    /// The routes under `/ui`, authenticating with `http`'s authenticator
    /// and checking `Host` as `http` says; `tls` marks the cookie `Secure`.
    pub fn routes(self, http: &HttpConfig, tls: bool) -> axum::Router {
        let gate = session::Gate::new(http.clone(), tls);
        let signed_in = axum::Router::new()
            .route("/ui", get(assets::page))
            .route("/ui/", get(assets::page))
            .route("/ui/api/me", get(api::me))
            .route("/ui/api/hosts", get(api::hosts))
            .route("/ui/api/hosts/{host}/servers", get(api::servers))
            .route("/ui/api/hosts/{host}/servers/{name}/logs", get(api::server_logs))
            .route("/ui/api/audit", get(api::audit))
            .route("/ui/api/models", get(api::models))
            .route_layer(axum::middleware::from_fn_with_state(gate.clone(), session::require))
            .with_state(self);
        let open = axum::Router::new()
            .route("/ui/login", get(session::login_form).post(session::login))
            .route("/ui/logout", post(session::logout))
            .with_state(gate.clone())
            .route("/ui/assets/{file}", get(assets::asset))
            .route_layer(axum::middleware::from_fn_with_state(gate, session::check_host));
        signed_in.merge(open).layer(axum::middleware::map_response(security::headers))
    }
}
