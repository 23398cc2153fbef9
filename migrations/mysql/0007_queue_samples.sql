-- RabbitMQ queue history: one row per queue per sample interval, for queues that hold messages,
-- have traffic, or changed since the last row.
CREATE TABLE queue_samples (
    cluster         VARCHAR(64)   NOT NULL,
    vhost           VARCHAR(255)  NOT NULL,
    queue           VARCHAR(255)  NOT NULL,
    ts              BIGINT        NOT NULL,
    backlog         BIGINT        NOT NULL,
    ready           BIGINT        NOT NULL,
    unacked         BIGINT        NOT NULL,
    consumers       BIGINT        NOT NULL,
    publish_rate    DOUBLE,
    deliver_rate    DOUBLE,
    PRIMARY KEY (cluster, vhost, queue, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX queue_samples_ts ON queue_samples (ts);
