-- Rollups of the per-poll history: 1-minute and 1-hour buckets (ts = bucket start), written by
-- the rollup job from the level below; `rollup_progress` records how far each one has come.
CREATE TABLE cluster_samples_1m (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           DOUBLE NOT NULL,
    partitions          DOUBLE,
    under_replicated    DOUBLE,
    messages_in_per_sec DOUBLE,
    PRIMARY KEY (cluster, ts)
) ENGINE=InnoDB;
CREATE TABLE cluster_samples_1h (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    reachable           DOUBLE NOT NULL,
    partitions          DOUBLE,
    under_replicated    DOUBLE,
    messages_in_per_sec DOUBLE,
    PRIMARY KEY (cluster, ts)
) ENGINE=InnoDB;
CREATE TABLE group_samples_1m (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    group_name          VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        DOUBLE NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE,
    produce_per_sec     DOUBLE,
    PRIMARY KEY (cluster, group_name, ts)
) ENGINE=InnoDB;
CREATE INDEX group_samples_1m_ts ON group_samples_1m (ts);
CREATE TABLE group_samples_1h (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    group_name          VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    ts                  BIGINT       NOT NULL,
    lag_messages        DOUBLE NOT NULL,
    max_lag             BIGINT       NOT NULL,
    lag_seconds         DOUBLE,
    status              BIGINT       NOT NULL,
    consume_per_sec     DOUBLE,
    produce_per_sec     DOUBLE,
    PRIMARY KEY (cluster, group_name, ts)
) ENGINE=InnoDB;
CREATE INDEX group_samples_1h_ts ON group_samples_1h (ts);
CREATE TABLE rollup_progress (
    name                VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    rolled_until        BIGINT       NOT NULL
) ENGINE=InnoDB;
