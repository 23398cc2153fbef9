-- History of polls: one row per cluster per poll, per topic per sample interval (when it moved),
-- per broker per poll. Timestamps are epoch milliseconds.
CREATE TABLE cluster_samples (
    cluster             VARCHAR(64)  NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           BIGINT       NOT NULL,
    brokers             BIGINT       NOT NULL,
    topics              BIGINT       NOT NULL,
    partitions          BIGINT       NOT NULL,
    under_replicated    BIGINT       NOT NULL,
    offline             BIGINT       NOT NULL,
    end_offset_sum      BIGINT       NOT NULL,
    messages_in_per_sec DOUBLE PRECISION,
    poll_millis         BIGINT       NOT NULL,
    error               TEXT,
    PRIMARY KEY (cluster, ts)
);

CREATE TABLE topic_samples (
    cluster             VARCHAR(64)  NOT NULL,
    topic               VARCHAR(255) NOT NULL,
    ts                  BIGINT       NOT NULL,
    partitions          BIGINT       NOT NULL,
    end_offset_sum      BIGINT       NOT NULL,
    messages_in_per_sec DOUBLE PRECISION,
    PRIMARY KEY (cluster, topic, ts)
);
CREATE INDEX topic_samples_ts ON topic_samples (ts);

CREATE TABLE broker_samples (
    cluster             VARCHAR(64)  NOT NULL,
    broker_id           BIGINT       NOT NULL,
    ts                  BIGINT       NOT NULL,
    up                  BIGINT       NOT NULL,
    PRIMARY KEY (cluster, broker_id, ts)
);
CREATE INDEX broker_samples_ts ON broker_samples (ts);
