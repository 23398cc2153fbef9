-- Several instances on one database: each running instance with its heartbeat, the leases
-- (a cluster's poller and alert evaluation, the history job) with their holder and fencing
-- epoch, and each cluster's latest state as its lease holder published it for the others.
-- Times are the database's own epoch milliseconds, so instances' clocks need not agree.
CREATE TABLE instances (
    id              VARCHAR(64)   NOT NULL PRIMARY KEY,
    name            VARCHAR(255)  NOT NULL,
    address         VARCHAR(255)  NOT NULL,
    version         VARCHAR(64)   NOT NULL,
    started_at      BIGINT        NOT NULL,
    heartbeat_at    BIGINT        NOT NULL,
    stopped_at      BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE leases (
    name            VARCHAR(255)  NOT NULL PRIMARY KEY,
    holder          VARCHAR(64)   NOT NULL,
    epoch           BIGINT        NOT NULL,
    acquired_at     BIGINT        NOT NULL,
    renewed_at      BIGINT        NOT NULL,
    expires_at      BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE cluster_states (
    cluster         VARCHAR(64)   NOT NULL PRIMARY KEY,
    holder          VARCHAR(64)   NOT NULL,
    epoch           BIGINT        NOT NULL,
    published_at    BIGINT        NOT NULL,
    state           LONGBLOB NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Which instance polled: one writer per poll, visible in history.
ALTER TABLE cluster_samples ADD COLUMN polled_by VARCHAR(64);
