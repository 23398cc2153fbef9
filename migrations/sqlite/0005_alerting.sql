-- Alerting: rules and channels (from the config file and the UI), silences, the engine's state
-- per (rule, subject), incidents, and the outbox of deliveries with every attempt.
CREATE TABLE alert_rules (
    name            VARCHAR(64)   NOT NULL PRIMARY KEY,
    definition      VARCHAR(8000) NOT NULL,
    source          VARCHAR(16)   NOT NULL,
    config_digest   VARCHAR(64),
    updated_at      BIGINT        NOT NULL
);
CREATE TABLE alert_channels (
    name            VARCHAR(64)   NOT NULL PRIMARY KEY,
    definition      VARCHAR(8000) NOT NULL,
    source          VARCHAR(16)   NOT NULL,
    config_digest   VARCHAR(64),
    updated_at      BIGINT        NOT NULL
);
CREATE TABLE alert_silences (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    rule            VARCHAR(64)   NOT NULL,
    subject         VARCHAR(512),
    until_ts        BIGINT        NOT NULL,
    note            VARCHAR(1000) NOT NULL,
    created_at      BIGINT        NOT NULL
);
CREATE TABLE alert_states (
    rule            VARCHAR(64)   NOT NULL,
    subject         VARCHAR(512)  NOT NULL,
    state           VARCHAR(2000) NOT NULL,
    PRIMARY KEY (rule, subject)
);
CREATE TABLE alert_incidents (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    rule            VARCHAR(64)   NOT NULL,
    subject         VARCHAR(512)  NOT NULL,
    cluster         VARCHAR(64)   NOT NULL,
    severity        VARCHAR(16)   NOT NULL,
    summary         VARCHAR(2000) NOT NULL,
    message         VARCHAR(4000) NOT NULL,
    started_at      BIGINT        NOT NULL,
    fired_at        BIGINT        NOT NULL,
    resolved_at     BIGINT,
    metric_value    REAL,
    threshold       REAL
);
CREATE INDEX alert_incidents_fired ON alert_incidents (fired_at);
CREATE TABLE alert_deliveries (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    incident        VARCHAR(32)   NOT NULL,
    channel         VARCHAR(64)   NOT NULL,
    kind            VARCHAR(16)   NOT NULL,
    notice_at       BIGINT        NOT NULL,
    message         VARCHAR(4000) NOT NULL,
    status          VARCHAR(16)   NOT NULL,
    attempts        BIGINT        NOT NULL,
    next_attempt_at BIGINT        NOT NULL,
    claimed_until   BIGINT        NOT NULL,
    last_error      VARCHAR(2000),
    created_at      BIGINT        NOT NULL,
    done_at         BIGINT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
CREATE INDEX alert_deliveries_incident ON alert_deliveries (incident);
CREATE TABLE alert_attempts (
    delivery        VARCHAR(32)   NOT NULL,
    attempt         BIGINT        NOT NULL,
    attempted_at    BIGINT        NOT NULL,
    ok              BIGINT        NOT NULL,
    error           VARCHAR(2000),
    millis          BIGINT        NOT NULL,
    PRIMARY KEY (delivery, attempt)
);
