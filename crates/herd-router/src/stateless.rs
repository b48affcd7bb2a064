//! The stateless revision (2026-07-28): requests that stand alone.
//!
//! A 2026-07-28 client never initializes and never holds a session: each
//! request carries, in `params._meta`, the revision it speaks, the client's
//! capabilities and (optionally) its identity and the log level it wants.
//! So any replica can answer any request, and the router keeps nothing
//! between two of them. Requests reach [`Router::handle_stateless`]
//! instead of a [`Session`](crate::Session); the transport says what its
//! envelope claimed about the body ([`Claims`]: HTTP headers), and the
//! answer comes back with a [`Verdict`] the transport maps to its status.
//!
//! The same backends answer, through the same routing. What differs:
//!
//! - `envelope`: the `_meta` keys are checked (and compared with the
//!   claims) before anything runs; `mirror`: so are the arguments of a
//!   `tools/call` that the tool mirrors into `Mcp-Param-*` headers;
//! - `server/discover` replaces `initialize`; `ping`, `logging/setLevel`
//!   and `resources/(un)subscribe` are gone (`-32601`);
//! - `inputs`: a handler awaiting the client (sampling, elicitation,
//!   roots) does not send a request: the question goes back inside an
//!   `input_required` result with a signed `requestState`, and the retried
//!   request runs the handler again with the answers at hand (see
//!   [`herd_proto::Context::request`]);
//! - `finish`: every result says `resultType`, cacheable ones `ttlMs` and
//!   `cacheScope`, and a missing resource is `-32602`;
//! - `listen`: `subscriptions/listen` replaces the session's GET stream;
//! - the tasks extension ([`crate::tasks`]): a long call to a tool that
//!   allows it becomes a task, and `tasks/get`, `tasks/update` and
//!   `tasks/cancel` are answered from the router's task store.

mod envelope;
mod finish;
mod inputs;
mod listen;
mod mirror;
mod peer;

#[cfg(test)]
mod tests;

pub use envelope::Claims;
pub use inputs::StateKey;
pub(crate) use listen::{Listeners, deliver, deliver_task};
pub(crate) use mirror::{Mirrors, task_support};
pub use mirror::{PARAM_HEADER_PREFIX, ParamClaims};

use crate::{Caller, Router, Shared, dispatch, tasks};
use envelope::Envelope;
use herd_proto::model::TaskSupport;
use herd_proto::{
    ClientFacts, Context, ProtocolVersion, Request, RequestId, RequestMeta, RpcError, code, error_json, method,
    result_json,
};
use herd_telemetry::McpSpan;
use inputs::Inputs;
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::outbox::SharedOutbox;

/// How a stateless request ended, for the transport's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answered: a result, or an error about the request's content.
    Answered,
    /// The envelope was refused (bad `_meta`, claims that disagree with the
    /// body, an unsupported revision, a capability the client lacks):
    /// HTTP 400.
    Refused,
    /// No such method on this revision: HTTP 404.
    NoSuchMethod,
}

/// The answer to a stateless request.
#[derive(Debug)]
pub struct StatelessAnswer {
    /// The serialized JSON-RPC response.
    pub body: String,
    /// How it ended.
    pub verdict: Verdict,
}

impl StatelessAnswer {
    fn error(id: &RequestId, err: &RpcError) -> Self {
        let verdict = match err.code {
            code::METHOD_NOT_FOUND => Verdict::NoSuchMethod,
            code::HEADER_MISMATCH | code::MISSING_CLIENT_CAPABILITY | code::UNSUPPORTED_PROTOCOL_VERSION => {
                Verdict::Refused
            }
            _ => Verdict::Answered,
        };
        Self { body: error_json(Some(id), err), verdict }
    }

    fn refused(id: &RequestId, err: &RpcError) -> Self {
        Self { body: error_json(Some(id), err), verdict: Verdict::Refused }
    }
}

/// Methods of the session revisions that 2026-07-28 removed.
const REMOVED: [&str; 5] = [
    method::INITIALIZE,
    method::PING,
    method::LOGGING_SET_LEVEL,
    method::RESOURCES_SUBSCRIBE,
    method::RESOURCES_UNSUBSCRIBE,
];

/// Whether `req` is one of the stateless revision: its params carry
/// `_meta["io.modelcontextprotocol/protocolVersion"]`. Transports without
/// headers (stdio) use this to pick the path of a request that arrives
/// outside a session.
pub fn is_stateless(req: &Request) -> bool {
    req.params.as_ref().is_some_and(|p| p.get().contains(envelope::PROTOCOL_VERSION))
}

impl Router {
    /// Answers one request of the stateless revision. `outbox` carries what
    /// the handler sends while it works (progress, log messages, the
    /// notifications of `subscriptions/listen`); without one they are lost
    /// and `subscriptions/listen` is refused.
    ///
    /// Returns `None` only when the request ended without a response being
    /// due (a listen stream the router closed, or shutdown).
    ///
    /// # Cancel safety
    /// Dropping the future stops the request's handler (for a listen
    /// request, ends the subscription).
    pub async fn handle_stateless(
        &self,
        req: Request,
        claims: Claims<'_>,
        outbox: Option<SharedOutbox>,
    ) -> Option<StatelessAnswer> {
        let envelope = match Envelope::check(&req, &claims) {
            Ok(envelope) => envelope,
            Err(err) => return Some(StatelessAnswer::refused(&req.id, &err)),
        };
        if claims.required
            && req.method == method::TOOLS_CALL
            && let Err(err) = mirror::check(&self.shared, &req, claims.params, claims.principal).await
        {
            return Some(StatelessAnswer::refused(&req.id, &err));
        }
        let shared = &self.shared;
        let caller = Caller { principal: claims.principal.cloned(), address: claims.address };
        match req.method.as_str() {
            method::TASKS_GET | method::TASKS_UPDATE | method::TASKS_CANCEL => {
                let outcome = if tasks::accepted(&envelope.capabilities) {
                    tasks::answer(&shared.tasks, &req, &tasks::owner(&caller))
                } else {
                    Err(tasks::extension_missing(&req.method))
                };
                return Some(done(&req.id, outcome, &req.method));
            }
            method::SERVER_DISCOVER => return Some(done(&req.id, finish::discover(shared), &req.method)),
            method::SUBSCRIPTIONS_LISTEN => {
                let tasks = tasks::accepted(&envelope.capabilities);
                return listen::run(shared, req, outbox, tasks::owner(&caller), tasks).await;
            }
            m @ ("tasks/result" | "tasks/list") => {
                let why =
                    format!("method not found: {m} (the tasks extension inlines results in tasks/get and lists none)");
                return Some(StatelessAnswer::error(&req.id, &RpcError::new(code::METHOD_NOT_FOUND, why)));
            }
            m if REMOVED.contains(&m) => {
                let why = format!("method not found: {m} (not part of protocol revision 2026-07-28)");
                return Some(StatelessAnswer::error(&req.id, &RpcError::new(code::METHOD_NOT_FOUND, why)));
            }
            _ => {}
        }
        Some(run(shared, req, envelope, outbox, caller).await)
    }
}

/// Runs a request through the backends, answering questions from the
/// client's `inputResponses` or turning them into an `input_required`
/// result; a call to a task-supporting tool that outlasts
/// [`TaskLimits::answer_in_place`](crate::TaskLimits) becomes a task.
async fn run(
    shared: &Arc<Shared>,
    req: Request,
    envelope: Envelope,
    outbox: Option<SharedOutbox>,
    caller: Caller,
) -> StatelessAnswer {
    let may_become_task = match req.method.as_str() {
        method::TOOLS_CALL => match (tasks::support(shared, &req).await, tasks::accepted(&envelope.capabilities)) {
            (TaskSupport::Required, false) => {
                let err = tasks::extension_missing("this tool runs only as a task: calling it");
                return StatelessAnswer::error(&req.id, &err);
            }
            (TaskSupport::Forbidden, _) | (_, false) => false,
            (_, true) => true,
        },
        _ => false,
    };
    let (req, inputs) = match Inputs::take(req, &shared.config.state_key) {
        Ok(taken) => taken,
        Err((id, err)) => return StatelessAnswer::error(&id, &err),
    };
    let inputs = Arc::new(inputs);
    let _release = inputs.ended().drop_guard();
    let meta = RequestMeta {
        request_id: Some(req.id.clone()),
        progress_token: envelope.progress_token.clone(),
        version: Some(ProtocolVersion::V2026_07_28),
        session_id: None,
        client: Some(Arc::new(ClientFacts { address: caller.address, ..ClientFacts::default() })),
        principal: caller.principal.clone(),
    };
    let peer = Arc::new(peer::StatelessPeer::new(envelope, inputs.clone(), outbox));
    let cancel = CancellationToken::new();
    let cx = Context::new(peer.clone(), meta, cancel.clone());
    let (id, method_name) = (req.id.clone(), req.method.clone());
    let span = crate::trace::server(&req, None, Some(ProtocolVersion::V2026_07_28));
    let routed = {
        let shared = shared.clone();
        async move { dispatch::route(&shared, None, req, cx).await }
    };
    let mut work = Box::pin(McpSpan::instrument(span.as_ref(), routed));
    let in_place = shared.tasks.limits().answer_in_place;
    let outcome = tokio::select! {
        biased;
        outcome = &mut work => outcome,
        () = inputs.needed() => settle(work.as_mut(), &inputs).await,
        () = tokio::time::sleep(in_place), if may_become_task => {
            let owner = tasks::owner(&caller);
            match shared.tasks.create(owner, cancel.clone()) {
                Err(err) => Err(err.into()),
                Ok(task) if peer.become_task(&task) => {
                    let created = tasks::created(&task, shared.tasks.limits());
                    crate::trace::finish(span.as_ref(), Some(&created));
                    tokio::spawn(tasks::announce(Arc::downgrade(shared), task.clone()));
                    tokio::spawn(drive(task, work));
                    return done(&id, created, &method_name);
                }
                // A question came first: it goes back in place, and the
                // task nobody heard of is forgotten.
                Ok(task) => {
                    shared.tasks.discard(&task);
                    settle(work.as_mut(), &inputs).await
                }
            }
        }
    };
    crate::trace::finish(span.as_ref(), Some(&outcome));
    match outcome {
        _ if inputs.has_questions() => match inputs.input_required(&shared.config.state_key) {
            Ok(result) => done(&id, Ok(result), &method_name),
            Err(err) => StatelessAnswer::error(&id, &err),
        },
        outcome => done(&id, outcome, &method_name),
    }
}

/// Runs the work of a task to its end: its outcome, or nothing once the
/// task is cancelled or expires (dropping the work stops it).
async fn drive(task: Arc<tasks::Task>, work: Pin<Box<impl Future<Output = Outcome>>>) {
    let expiry = tokio::time::Instant::from_std(task.expires);
    tokio::select! {
        outcome = work => task.finish(outcome.map_err(finish::error)),
        // Cancelled by `tasks/cancel` (already marked) or by expiry.
        () = task.cancel.cancelled() => task.cancel(),
        () = tokio::time::sleep_until(expiry) => task.cancel(),
    }
}

type Outcome = Result<Box<RawValue>, RpcError>;

/// How long the handler may stay quiet after a question before the
/// questions asked so far are answered as `input_required`. Questions asked
/// together in-process arrive in the same poll; a relayed handler's arrive
/// one by one over the network, a few milliseconds apart.
const QUESTIONS_QUIET: Duration = Duration::from_millis(25);

/// Lets the handler go on until it has been quiet for [`QUESTIONS_QUIET`]
/// since its last question (it may finish, or ask more); then it is
/// dropped: it waits on the client, who is not here.
async fn settle(mut work: Pin<&mut impl Future<Output = Outcome>>, inputs: &Inputs) -> Outcome {
    loop {
        tokio::select! {
            biased;
            outcome = work.as_mut() => return outcome,
            () = inputs.needed() => {}
            () = tokio::time::sleep(QUESTIONS_QUIET) => return Err(RpcError::internal("waiting for the client's input")),
        }
    }
}

/// A finished request: results get the 2026-07-28 shape, errors the
/// 2026-07-28 codes.
fn done(id: &RequestId, outcome: Outcome, method: &str) -> StatelessAnswer {
    match outcome.and_then(|result| finish::result(method, &result)) {
        Ok(result) => StatelessAnswer { body: result_json(id, &result), verdict: Verdict::Answered },
        Err(err) => StatelessAnswer::error(id, &finish::error(err)),
    }
}
