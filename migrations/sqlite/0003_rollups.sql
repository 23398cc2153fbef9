-- Rollups of the per-poll history: 1-minute and 1-hour buckets (ts = bucket start), written by
-- the rollup job from the level below; `rollup_progress` records how far each one has come.
CREATE TABLE cluster_samples_1m (
    cluster             VARCHAR(64)  NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           DOUBLE PRECISION NOT NULL,
    partitions          DOUBLE PRECISION,
    under_replicated    DOUBLE PRECISION,
    messages_in_per_sec DOUBLE PRECISION,
    PRIMARY KEY (cluster, ts)
);
CREATE TABLE cluster_samples_1h (
    cluster             VARCHAR(64)  NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           DOUBLE PRECISION NOT NULL,
    partitions          DOUBLE PRECISION,
    under_replicated    DOUBLE PRECISION,
    messages_in_per_sec DOUBLE PRECISION,
    PRIMARY KEY (cluster, ts)
);
CREATE TABLE group_samples_1m (
    cluster             VARCHAR(64)  NOT NULL,
    group_name          VARCHAR(255) NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        DOUBLE PRECISION NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE PRECISION,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE PRECISION,
    produce_per_sec     DOUBLE PRECISION,
    PRIMARY KEY (cluster, group_name, ts)
);
CREATE INDEX group_samples_1m_ts ON group_samples_1m (ts);
CREATE TABLE group_samples_1h (
    cluster             VARCHAR(64)  NOT NULL,
    group_name          VARCHAR(255) NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        DOUBLE PRECISION NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE PRECISION,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE PRECISION,
    produce_per_sec     DOUBLE PRECISION,
    PRIMARY KEY (cluster, group_name, ts)
);
CREATE INDEX group_samples_1h_ts ON group_samples_1h (ts);
CREATE TABLE rollup_progress (
    name                VARCHAR(64)  NOT NULL PRIMARY KEY,
    rolled_until        BIGINT       NOT NULL
);
