-- History of polls: one row per cluster per poll, per topic per sample interval (when it moved),
-- per broker per poll. Timestamps are epoch milliseconds.
CREATE TABLE cluster_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           BIGINT       NOT NULL,
    brokers             BIGINT       NOT NULL,
    topics              BIGINT       NOT NULL,
    partitions          BIGINT       NOT NULL,
    under_replicated    BIGINT       NOT NULL,
    offline             BIGINT       NOT NULL,
    end_offset_sum      BIGINT       NOT NULL,
    messages_in_per_sec DOUBLE,
    poll_millis         BIGINT       NOT NULL,
    error               VARCHAR(1000) CHARACTER SET utf8mb4,
    PRIMARY KEY (cluster, ts)
) ENGINE=InnoDB;

CREATE TABLE topic_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    topic               VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    partitions          BIGINT       NOT NULL,
    end_offset_sum      BIGINT       NOT NULL,
    messages_in_per_sec DOUBLE,
    PRIMARY KEY (cluster, topic, ts)
) ENGINE=InnoDB;
CREATE INDEX topic_samples_ts ON topic_samples (ts);

CREATE TABLE broker_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    broker_id           BIGINT       NOT NULL,
    ts                  BIGINT       NOT NULL,
    up                  BIGINT       NOT NULL,
    PRIMARY KEY (cluster, broker_id, ts)
) ENGINE=InnoDB;
CREATE INDEX broker_samples_ts ON broker_samples (ts);
