-- Alert notices grouped (each group's state between batches), incidents acknowledged, and
-- the group an incident was told in. A grouped notice lists its alerts, an incident keeps its acknowledgement: up to 16 MB.
CREATE TABLE alert_groups (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    rule            VARCHAR(64)   NOT NULL,
    cluster         VARCHAR(64)   NOT NULL,
    state           MEDIUMTEXT    NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE alert_incidents
    ADD COLUMN group_id VARCHAR(32),
    ADD COLUMN acked_by VARCHAR(255),
    ADD COLUMN acked_at BIGINT,
    ADD COLUMN ack_comment VARCHAR(1000),
    ADD COLUMN ack_until BIGINT;
ALTER TABLE alert_deliveries MODIFY message MEDIUMTEXT NOT NULL;
ALTER TABLE alert_incidents MODIFY message MEDIUMTEXT NOT NULL;
