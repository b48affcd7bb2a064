-- Health probes shared out among hub replicas: one row per host, saying
-- which replica may probe it until when (`holder`, `lease_until`) and what
-- the last probe of it found. `target` is a digest of how the host is
-- reached (url and token); a result is shared only between replicas that
-- agree on it. `checked_at` is NULL until a result is published; `up_since`
-- is set when the host answered, `streak` and `error` when it did not.
-- Times are milliseconds since the Unix epoch. Keep in step with ../postgres.

CREATE TABLE probe_leases (
    host         TEXT    PRIMARY KEY,
    target       TEXT    NOT NULL,
    holder       TEXT    NOT NULL,
    lease_until  BIGINT  NOT NULL,
    checked_at   BIGINT,
    up_since     BIGINT,
    tool_count   BIGINT,
    latency_us   BIGINT,
    streak       BIGINT,
    error        TEXT
);
