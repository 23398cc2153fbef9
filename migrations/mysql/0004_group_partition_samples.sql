-- Per-partition consumer lag, written every `lag.partition_sample_interval` (not every poll).
CREATE TABLE group_partition_samples (
    cluster             VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    group_name          VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    topic               VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    partition_id        BIGINT       NOT NULL,
    ts                  BIGINT       NOT NULL,
    committed_offset    BIGINT       NOT NULL,
    end_offset          BIGINT,
    lag_messages        BIGINT       NOT NULL,
    lag_seconds         DOUBLE,
    PRIMARY KEY (cluster, group_name, topic, partition_id, ts)
) ENGINE=InnoDB;
CREATE INDEX group_partition_samples_ts ON group_partition_samples (ts);
