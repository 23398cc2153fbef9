-- Consumer-group lag history: one row per group per poll, and per group and topic per poll.
CREATE TABLE group_samples (
    cluster             VARCHAR(64)  NOT NULL,
    group_name          VARCHAR(255) NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        BIGINT       NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE PRECISION,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE PRECISION,
    produce_per_sec     DOUBLE PRECISION,
    PRIMARY KEY (cluster, group_name, ts)
);
CREATE INDEX group_samples_ts ON group_samples (ts);

CREATE TABLE group_topic_samples (
    cluster             VARCHAR(64)  NOT NULL,
    group_name          VARCHAR(255) NOT NULL,
    topic               VARCHAR(255) NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        BIGINT       NOT NULL,
    lag_seconds         DOUBLE PRECISION,
    PRIMARY KEY (cluster, group_name, topic, ts)
);
CREATE INDEX group_topic_samples_ts ON group_topic_samples (ts);
