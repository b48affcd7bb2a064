//! What the relay counts:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `herd_llm_requests_total` | counter | `model`, `outcome` (ok, rpc_error, denied, cancelled, timeout) |
//! | `herd_llm_in_flight` | gauge | `model` |
//!
//! `model` is a model id the registry knew when the request came (any
//! other name counts as `unknown`), so clients cannot grow the label set.

/// The `model` label of a request whose model was not resolved.
pub(crate) const UNKNOWN: &str = "unknown";

/// One more request in flight for `model`.
pub(crate) fn started(model: &str) {
    metrics::gauge!("herd_llm_in_flight", "model" => model.to_owned()).increment(1.0);
}

/// A request for `model` ended with `outcome`; `in_flight` says whether
/// [`started`] counted it.
pub(crate) fn ended(model: &str, outcome: &'static str, in_flight: bool) {
    if in_flight {
        metrics::gauge!("herd_llm_in_flight", "model" => model.to_owned()).decrement(1.0);
    }
    metrics::counter!("herd_llm_requests_total", "model" => model.to_owned(), "outcome" => outcome).increment(1);
}
