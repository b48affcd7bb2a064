//! The JSON form of an audit record: one flat object per record, as
//! `herd audit --json` prints it and a SIEM ingests it.
//!
//! Names follow the OpenTelemetry semantic conventions where one exists:
//! `mcp.method.name`, `mcp.session.id`, `mcp.resource.uri`,
//! `gen_ai.tool.name`, `gen_ai.prompt.name`, `gen_ai.request.model`,
//! `gen_ai.provider.name`, `gen_ai.usage.input_tokens` and `..output_tokens`,
//! `client.address`, `user.name`, `error.message`. The rest are herd's own,
//! under `herd.`. The request's target goes under the name its method
//! implies (a tool for `tools/call`, a URI for `resources/*`, a prompt for
//! `prompts/get`), else `herd.target`. Absent fields are left out.

use super::{AuditPath, AuditRecord, Outcome};
use crate::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    time: Timestamp,
    #[serde(rename = "user.name", skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, str>>,
    #[serde(rename = "herd.token.id", skip_serializing_if = "Option::is_none")]
    token_id: Option<Cow<'a, str>>,
    #[serde(rename = "herd.oauth.subject", skip_serializing_if = "Option::is_none")]
    oauth_subject: Option<Cow<'a, str>>,
    #[serde(rename = "herd.client.name", skip_serializing_if = "Option::is_none")]
    client_name: Option<Cow<'a, str>>,
    #[serde(rename = "herd.client.version", skip_serializing_if = "Option::is_none")]
    client_version: Option<Cow<'a, str>>,
    #[serde(rename = "client.address", skip_serializing_if = "Option::is_none")]
    client_address: Option<Cow<'a, str>>,
    #[serde(rename = "mcp.session.id", skip_serializing_if = "Option::is_none")]
    session: Option<Cow<'a, str>>,
    #[serde(rename = "mcp.method.name")]
    method: Cow<'a, str>,
    #[serde(rename = "gen_ai.tool.name", skip_serializing_if = "Option::is_none")]
    tool: Option<Cow<'a, str>>,
    #[serde(rename = "gen_ai.prompt.name", skip_serializing_if = "Option::is_none")]
    prompt: Option<Cow<'a, str>>,
    #[serde(rename = "mcp.resource.uri", skip_serializing_if = "Option::is_none")]
    resource: Option<Cow<'a, str>>,
    #[serde(rename = "herd.target", skip_serializing_if = "Option::is_none")]
    other_target: Option<Cow<'a, str>>,
    #[serde(rename = "herd.hosts", default, skip_serializing_if = "<[_]>::is_empty")]
    hosts: Cow<'a, [String]>,
    #[serde(rename = "herd.path", skip_serializing_if = "Option::is_none")]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "herd.duration_ms")]
    duration_ms: u64,
    #[serde(rename = "herd.outcome")]
    outcome: Cow<'a, str>,
    #[serde(rename = "error.message", skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
    #[serde(rename = "herd.args.sha256", skip_serializing_if = "Option::is_none")]
    args_sha256: Option<Cow<'a, str>>,
    #[serde(rename = "herd.args.size", skip_serializing_if = "Option::is_none")]
    args_size: Option<u64>,
    #[serde(rename = "herd.args", skip_serializing_if = "Option::is_none")]
    args: Option<Cow<'a, str>>,
    #[serde(rename = "gen_ai.request.model", skip_serializing_if = "Option::is_none")]
    model: Option<Cow<'a, str>>,
    #[serde(rename = "gen_ai.provider.name", skip_serializing_if = "Option::is_none")]
    provider: Option<Cow<'a, str>>,
    #[serde(rename = "herd.llm.member", skip_serializing_if = "Option::is_none")]
    member: Option<Cow<'a, str>>,
    #[serde(rename = "gen_ai.usage.input_tokens", skip_serializing_if = "Option::is_none")]
    prompt_tokens: Option<u64>,
    #[serde(rename = "gen_ai.usage.output_tokens", skip_serializing_if = "Option::is_none")]
    completion_tokens: Option<u64>,
    #[serde(rename = "herd.llm.ttft_ms", skip_serializing_if = "Option::is_none")]
    ttft_ms: Option<u64>,
}

/// Which wire field a method's target belongs in.
enum TargetKind {
    Tool,
    Prompt,
    Resource,
    Other,
}

fn target_kind(method: &str) -> TargetKind {
    match method {
        "tools/call" => TargetKind::Tool,
        "prompts/get" => TargetKind::Prompt,
        m if m.starts_with("resources/") => TargetKind::Resource,
        _ => TargetKind::Other,
    }
}

fn borrowed(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
}

impl Serialize for AuditRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let target = borrowed(&self.target);
        let (mut tool, mut prompt, mut resource, mut other_target) = (None, None, None, None);
        match target_kind(&self.method) {
            TargetKind::Tool => tool = target,
            TargetKind::Prompt => prompt = target,
            TargetKind::Resource => resource = target,
            TargetKind::Other => other_target = target,
        }
        Wire {
            id: self.id,
            time: self.time,
            user: borrowed(&self.user),
            token_id: borrowed(&self.token_id),
            oauth_subject: borrowed(&self.oauth_subject),
            client_name: borrowed(&self.client_name),
            client_version: borrowed(&self.client_version),
            client_address: borrowed(&self.client_address),
            session: borrowed(&self.session),
            method: Cow::Borrowed(&self.method),
            tool,
            prompt,
            resource,
            other_target,
            hosts: Cow::Borrowed(&self.hosts),
            path: self.path.map(|p| Cow::Borrowed(p.as_str())),
            duration_ms: self.duration_ms,
            outcome: Cow::Borrowed(self.outcome.as_str()),
            error: borrowed(&self.error),
            args_sha256: borrowed(&self.args_sha256),
            args_size: self.args_size,
            args: borrowed(&self.args),
            model: borrowed(&self.model),
            provider: borrowed(&self.provider),
            member: borrowed(&self.member),
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            ttft_ms: self.ttft_ms,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for AuditRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let w = Wire::deserialize(d)?;
        let owned = |c: Option<Cow<'_, str>>| c.map(Cow::into_owned);
        Ok(AuditRecord {
            id: w.id,
            time: w.time,
            user: owned(w.user),
            token_id: owned(w.token_id),
            oauth_subject: owned(w.oauth_subject),
            client_name: owned(w.client_name),
            client_version: owned(w.client_version),
            client_address: owned(w.client_address),
            session: owned(w.session),
            target: owned(w.tool.or(w.prompt).or(w.resource).or(w.other_target)),
            method: w.method.into_owned(),
            hosts: w.hosts.into_owned(),
            path: w.path.map(|p| p.parse::<AuditPath>()).transpose().map_err(D::Error::custom)?,
            duration_ms: w.duration_ms,
            outcome: w.outcome.parse::<Outcome>().map_err(D::Error::custom)?,
            error: owned(w.error),
            args_sha256: owned(w.args_sha256),
            args_size: w.args_size,
            args: owned(w.args),
            model: owned(w.model),
            provider: owned(w.provider),
            member: owned(w.member),
            prompt_tokens: w.prompt_tokens,
            completion_tokens: w.completion_tokens,
            ttft_ms: w.ttft_ms,
        })
    }
}

impl AuditRecord {
    /// The record as one line of JSON (no trailing newline), for NDJSON.
    pub fn to_json_line(&self) -> String {
        // Serializing plain strings and numbers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
