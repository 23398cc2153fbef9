-- Consumer-group lag history: one row per group per poll, and per group and topic per poll.
CREATE TABLE group_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    group_name          VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        BIGINT       NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE,
    produce_per_sec     DOUBLE,
    PRIMARY KEY (cluster, group_name, ts)
) ENGINE=InnoDB;
CREATE INDEX group_samples_ts ON group_samples (ts);

CREATE TABLE group_topic_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    group_name          VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    topic               VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        BIGINT       NOT NULL,
    lag_seconds         DOUBLE,
    PRIMARY KEY (cluster, group_name, topic, ts)
) ENGINE=InnoDB;
CREATE INDEX group_topic_samples_ts ON group_topic_samples (ts);
