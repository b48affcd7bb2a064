//! The audit record of one LLM request: begun when it arrives, completed
//! with who served it, the token counts and the time to first byte, and
//! written before the answer ends (a stream's last bytes wait for it). A
//! request dropped before it finished (the client went away) is recorded
//! `cancelled` without waiting.

use super::metrics;
use super::request::Endpoint;
use super::sse::Usage;
use herd_auth::Principal;
use herd_store::{AuditPath, AuditRecord, AuditWriter, Outcome, Timestamp};
use tokio::time::Instant;

/// A record begun and not yet written.
#[derive(Debug)]
pub(crate) struct LlmRecord {
    writer: AuditWriter,
    record: Option<AuditRecord>,
    started: Instant,
    /// The metrics label, once the model is known.
    label: Option<String>,
}

impl LlmRecord {
    /// The record of `principal` calling `endpoint` with `raw`.
    pub(crate) fn begin(
        writer: AuditWriter,
        principal: &Principal,
        endpoint: Endpoint,
        raw: &[u8],
        payloads: bool,
    ) -> Self {
        let mut record = AuditRecord::new(Timestamp::now(), endpoint.route(), Outcome::Ok);
        record.attribute_to(principal);
        record.set_args(raw, payloads);
        Self { writer, record: Some(record), started: Instant::now(), label: None }
    }

    /// The model the client asked for; `known` when it resolved.
    pub(crate) fn asked(&mut self, model: &str, known: bool) {
        if let Some(record) = &mut self.record {
            record.model = Some(model.to_owned());
            record.target = Some(model.to_owned());
        }
        if known && self.label.is_none() {
            metrics::started(model);
            self.label = Some(model.to_owned());
        }
    }

    /// The member that serves it.
    pub(crate) fn served(&mut self, host: &str, provider: &str) {
        if let Some(record) = &mut self.record {
            record.hosts = vec![host.to_owned()];
            record.path = Some(AuditPath::Channel);
            record.member = Some(host.to_owned());
            record.provider = Some(provider.to_owned());
        }
    }

    /// The first byte of the answer arrived now.
    pub(crate) fn first_byte(&mut self) {
        let ms = elapsed_ms(self.started);
        if let Some(record) = &mut self.record {
            record.ttft_ms = Some(ms);
        }
    }

    /// The token counts of the answer.
    pub(crate) fn usage(&mut self, usage: Usage) {
        if let Some(record) = &mut self.record {
            record.prompt_tokens = usage.prompt;
            record.completion_tokens = usage.completion;
        }
    }

    /// Writes the record with `outcome`, returning once it is committed.
    pub(crate) async fn finish(mut self, outcome: Outcome, error: Option<&str>) {
        let Some(record) = self.take(outcome, error) else { return };
        if let Err(err) = self.writer.append(record).await {
            tracing::warn!(%err, "audit record of an LLM request not written");
        }
    }

    fn take(&mut self, outcome: Outcome, error: Option<&str>) -> Option<AuditRecord> {
        let mut record = self.record.take()?;
        record.outcome = outcome;
        record.duration_ms = elapsed_ms(self.started);
        // The store cuts it to `herd_store::ERROR_CAP` when written.
        record.error = error.map(str::to_owned);
        let label = self.label.as_deref();
        metrics::ended(label.unwrap_or(metrics::UNKNOWN), outcome.as_str(), label.is_some());
        tracing::info!(
            target: "herd::llm",
            model = record.model.as_deref().unwrap_or(""),
            member = record.member.as_deref().unwrap_or(""),
            outcome = outcome.as_str(),
            elapsed_ms = record.duration_ms,
            ttft_ms = record.ttft_ms,
            "llm request"
        );
        Some(record)
    }
}

impl Drop for LlmRecord {
    fn drop(&mut self) {
        let Some(record) = self.take(Outcome::Cancelled, None) else { return };
        let writer = self.writer.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move {
                if let Err(err) = writer.append(record).await {
                    tracing::warn!(%err, "audit record of a cancelled LLM request not written");
                }
            })),
            Err(_) => tracing::warn!("audit record of a cancelled LLM request dropped: no runtime"),
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
