//! Writing, reading and pruning audit rows.

use super::{ARGS_CAP, AuditRecord, ERROR_CAP, Outcome};
use crate::check::{truncate, truncate_opt};
use crate::open::on_db;
use crate::rows::Columns;
use crate::{Backend, Result, Store, Timestamp};
use sqlx::QueryBuilder;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Longest name-like field kept (user, client, session, method, model...).
const SHORT_CAP: usize = 256;
/// Longest target kept (a resource URI can be long).
const TARGET_CAP: usize = 1024;
/// Most hosts kept per record (a fan-out to more keeps the first ones).
const HOSTS_CAP: usize = 1024;
/// Most rows per `INSERT`: 64 rows of 24 columns stay well under both
/// databases' limits on bound parameters.
const ROWS_PER_INSERT: usize = 64;
/// Rows per `DELETE` while pruning, so no transaction grows without bound.
const PRUNE_CHUNK: i64 = 10_000;
/// Most rows one query returns.
pub const AUDIT_MAX_LIMIT: u32 = 10_000;
/// Rows a query returns when it sets no limit.
pub const AUDIT_DEFAULT_LIMIT: u32 = 100;

/// Which audit records [`Store::query_audit`] returns. Every field set must
/// match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Made by this user.
    pub user: Option<String>,
    /// Sent to this host (one of the record's hosts).
    pub host: Option<String>,
    /// Naming this tool, prompt or resource.
    pub tool: Option<String>,
    /// Ended this way.
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Only records with a larger id, oldest first: pass the last id seen
    /// to follow the log. Without it, the newest records are returned (still
    /// oldest first).
    pub after_id: Option<i64>,
    /// At most this many (default [`AUDIT_DEFAULT_LIMIT`], at most [`AUDIT_MAX_LIMIT`]).
    pub limit: Option<u32>,
}

const COLUMNS: &str = "id, at, user_name, token_id, oauth_subject, client_name, client_version, client_address, \
     session_id, method, target, hosts, path, duration_ms, outcome, error, args_sha256, args_size, args, \
     llm_model, llm_provider, llm_member, prompt_tokens, completion_tokens, ttft_ms";

fn record_from(row: &impl Columns) -> Result<AuditRecord> {
    let count = |col| -> Result<Option<u64>> { Ok(row.opt_int(col)?.map(i64::unsigned_abs)) };
    Ok(AuditRecord {
        id: Some(row.int("id")?),
        time: row.time("at")?,
        user: row.opt_text("user_name")?,
        token_id: row.opt_text("token_id")?,
        oauth_subject: row.opt_text("oauth_subject")?,
        client_name: row.opt_text("client_name")?,
        client_version: row.opt_text("client_version")?,
        client_address: row.opt_text("client_address")?,
        session: row.opt_text("session_id")?,
        method: row.text("method")?,
        target: row.opt_text("target")?,
        hosts: row.list("hosts")?,
        path: row.opt_text("path")?.map(|p| p.parse()).transpose()?,
        duration_ms: row.int("duration_ms")?.unsigned_abs(),
        outcome: row.text("outcome")?.parse()?,
        error: row.opt_text("error")?,
        args_sha256: row.opt_text("args_sha256")?,
        args_size: count("args_size")?,
        args: row.opt_text("args")?,
        model: row.opt_text("llm_model")?,
        provider: row.opt_text("llm_provider")?,
        member: row.opt_text("llm_member")?,
        prompt_tokens: count("prompt_tokens")?,
        completion_tokens: count("completion_tokens")?,
        ttft_ms: count("ttft_ms")?,
    })
}

/// The hosts column: a JSON array of at most [`HOSTS_CAP`] names.
fn hosts_json(hosts: &[String]) -> String {
    let kept: Vec<_> = hosts.iter().take(HOSTS_CAP).map(|h| truncate(h, SHORT_CAP)).collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".to_owned())
}

/// A `LIKE` pattern matching a hosts column that holds `host` as an element.
fn host_pattern(host: &str) -> String {
    let quoted = serde_json::Value::from(host).to_string();
    let mut pattern = String::from("%");
    for c in quoted.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn count(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The `INSERT` of `rows` audit rows (a power of two, at most
/// [`ROWS_PER_INSERT`]) in `backend`'s placeholders. Batches are cut into
/// such sizes, so a connection prepares at most seven statements, once
/// each, whatever the batch sizes: preparing a fresh multi-row statement
/// per batch cost more than inserting its rows.
///
/// SQLite gets anonymous `?` placeholders: sqlx asks SQLite the name of
/// every parameter it binds, a linear search among named ones, which made
/// binding a 64-row statement with `$N` quadratic (a fifth of an audited
/// agent's CPU).
pub(super) fn insert_sql(backend: Backend, rows: usize) -> &'static str {
    static TEXTS: OnceLock<[Vec<String>; 2]> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let columns = COLUMNS.trim_start_matches("id, ");
        let per_row = columns.split(", ").count();
        let texts = |placeholder: &dyn Fn(usize) -> String| {
            let row = |r: usize| {
                let placeholders: Vec<String> = (1..=per_row).map(|c| placeholder(r * per_row + c)).collect();
                format!("({})", placeholders.join(", "))
            };
            (0..=ROWS_PER_INSERT.trailing_zeros())
                .map(|power| {
                    let values: Vec<String> = (0..1usize << power).map(row).collect();
                    format!("INSERT INTO audit ({columns}) VALUES {}", values.join(", "))
                })
                .collect()
        };
        [texts(&|_| "?".to_owned()), texts(&|n| format!("${n}"))]
    });
    let by_backend = match backend {
        Backend::Sqlite => &texts[0],
        Backend::Postgres => &texts[1],
    };
    &by_backend[rows.trailing_zeros() as usize]
}

/// The largest power of two that is at most `n` (> 0) and at most
/// [`ROWS_PER_INSERT`].
pub(super) fn chunk_rows(n: usize) -> usize {
    let n = n.min(ROWS_PER_INSERT);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// One value of an audit row, borrowed from its record where it can be:
/// both writers (sqlx's and the SQLite thread's) bind these.
pub(super) enum Value<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
}

/// The values of one audit row in [`COLUMNS`] order (less `id`), every
/// text cut to its cap.
pub(super) fn row_values(rec: &AuditRecord) -> [Value<'_>; 24] {
    fn short(s: &Option<String>) -> Value<'_> {
        Value::Text(truncate_opt(s, SHORT_CAP))
    }
    [
        Value::Int(Some(rec.time.unix_millis())),
        short(&rec.user),
        short(&rec.token_id),
        short(&rec.oauth_subject),
        short(&rec.client_name),
        short(&rec.client_version),
        short(&rec.client_address),
        short(&rec.session),
        Value::Text(Some(truncate(&rec.method, SHORT_CAP))),
        Value::Text(truncate_opt(&rec.target, TARGET_CAP)),
        Value::Text(Some(Cow::Owned(hosts_json(&rec.hosts)))),
        Value::Text(rec.path.map(|p| Cow::Borrowed(p.as_str()))),
        Value::Int(count(Some(rec.duration_ms))),
        Value::Text(Some(Cow::Borrowed(rec.outcome.as_str()))),
        Value::Text(truncate_opt(&rec.error, ERROR_CAP)),
        short(&rec.args_sha256),
        Value::Int(count(rec.args_size)),
        Value::Text(truncate_opt(&rec.args, ARGS_CAP)),
        short(&rec.model),
        short(&rec.provider),
        short(&rec.member),
        Value::Int(count(rec.prompt_tokens)),
        Value::Int(count(rec.completion_tokens)),
        Value::Int(count(rec.ttft_ms)),
    ]
}

impl Store {
    /// Writes `records` in one transaction (multi-row inserts), all or none.
    /// [`crate::AuditWriter`] gathers concurrent callers into calls of this;
    /// call it directly only to write records that are already batched.
    pub async fn append_audit(&self, records: &[&AuditRecord]) -> Result<()> {
        self.bounded(async {
            on_db!(self, pool => {
                let mut tx = pool.begin().await?;
                let mut rest = records;
                while !rest.is_empty() {
                    let (chunk, tail) = rest.split_at(chunk_rows(rest.len()));
                    let mut insert = sqlx::query(insert_sql(self.backend(), chunk.len()));
                    for rec in chunk {
                        for value in row_values(rec) {
                            insert = match value {
                                Value::Int(n) => insert.bind(n),
                                Value::Text(text) => insert.bind(text.map(Cow::into_owned)),
                            };
                        }
                    }
                    insert.execute(&mut *tx).await?;
                    rest = tail;
                }
                tx.commit().await?;
            });
            Ok(())
        })
        .await
    }

    /// The records `filter` selects, oldest first.
    pub async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let limit = i64::from(filter.limit.unwrap_or(AUDIT_DEFAULT_LIMIT).min(AUDIT_MAX_LIMIT));
        let host = filter.host.as_deref().map(host_pattern);
        let mut records = self
            .bounded(async {
                on_db!(self, pool => {
                    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit WHERE 1 = 1"));
                    if let Some(user) = &filter.user {
                        q.push(" AND user_name = ").push_bind(user);
                    }
                    if let Some(pattern) = &host {
                        q.push(" AND hosts LIKE ").push_bind(pattern).push(" ESCAPE '\\'");
                    }
                    if let Some(tool) = &filter.tool {
                        q.push(" AND target = ").push_bind(tool);
                    }
                    if let Some(outcome) = filter.outcome {
                        q.push(" AND outcome = ").push_bind(outcome.as_str());
                    }
                    if let Some(since) = filter.since {
                        q.push(" AND at >= ").push_bind(since.unix_millis());
                    }
                    if let Some(until) = filter.until {
                        q.push(" AND at < ").push_bind(until.unix_millis());
                    }
                    match filter.after_id {
                        Some(after) => q.push(" AND id > ").push_bind(after).push(" ORDER BY id ASC"),
                        None => q.push(" ORDER BY id DESC"),
                    };
                    q.push(" LIMIT ").push_bind(limit);
                    q.build().fetch_all(pool).await?.iter().map(record_from).collect::<Result<Vec<_>>>()
                })
            })
            .await?;
        if filter.after_id.is_none() {
            records.reverse();
        }
        Ok(records)
    }

    /// Deletes the records older than `before` and says how many went.
    /// Deletes in chunks, each its own transaction under the store's
    /// deadline, so pruning a large backlog never holds a long lock.
    pub async fn prune_audit(&self, before: Timestamp) -> Result<u64> {
        const SQL: &str = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY id LIMIT $2)";
        let mut total = 0;
        loop {
            let deleted = self
                .bounded(async {
                    Ok(on_db!(self, pool => sqlx::query(SQL)
                        .bind(before.unix_millis())
                        .bind(PRUNE_CHUNK)
                        .execute(pool)
                        .await?
                        .rows_affected()))
                })
                .await?;
            total += deleted;
            if deleted < PRUNE_CHUNK.unsigned_abs() {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_escape_like_wildcards() {
        assert_eq!(host_pattern("gpu1"), "%\"gpu1\"%");
        assert_eq!(host_pattern("a_b%"), "%\"a\\_b\\%\"%");
        assert_eq!(host_pattern("q\"x"), "%\"q\\\\\"x\"%");
    }

    #[test]
    fn hosts_are_capped() {
        let many: Vec<String> = (0..HOSTS_CAP + 5).map(|i| format!("h{i}")).collect();
        let kept: Vec<String> = serde_json::from_str(&hosts_json(&many)).unwrap();
        assert_eq!(kept.len(), HOSTS_CAP);
    }
}
