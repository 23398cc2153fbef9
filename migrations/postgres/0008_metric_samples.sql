-- Broker metrics (JMX-like: bytes and messages in/out, request rates, idle percentages, heap, …)
-- per poll for the cluster (scope '') and each broker (scope 'broker:ID'), with 1-minute and
-- 1-hour rollups like the other histories.
CREATE TABLE metric_samples (
    cluster         VARCHAR(64)   NOT NULL,
    scope           VARCHAR(64)   NOT NULL,
    metric          VARCHAR(64)   NOT NULL,
    ts              BIGINT        NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cluster, scope, metric, ts)
);
CREATE INDEX metric_samples_ts ON metric_samples (ts);
CREATE TABLE metric_samples_1m (
    cluster         VARCHAR(64)   NOT NULL,
    scope           VARCHAR(64)   NOT NULL,
    metric          VARCHAR(64)   NOT NULL,
    ts              BIGINT        NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cluster, scope, metric, ts)
);
CREATE INDEX metric_samples_1m_ts ON metric_samples_1m (ts);
CREATE TABLE metric_samples_1h (
    cluster         VARCHAR(64)   NOT NULL,
    scope           VARCHAR(64)   NOT NULL,
    metric          VARCHAR(64)   NOT NULL,
    ts              BIGINT        NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cluster, scope, metric, ts)
);
CREATE INDEX metric_samples_1h_ts ON metric_samples_1h (ts);
