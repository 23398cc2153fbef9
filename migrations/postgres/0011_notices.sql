-- Alert notices grouped (each group's state between batches), incidents acknowledged, and
-- the group an incident was told in. A grouped notice lists its alerts, an incident keeps its acknowledgement: no length limit.
CREATE TABLE alert_groups (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    rule            VARCHAR(64)   NOT NULL,
    cluster         VARCHAR(64)   NOT NULL,
    state           TEXT          NOT NULL
);
ALTER TABLE alert_incidents
    ADD COLUMN group_id VARCHAR(32),
    ADD COLUMN acked_by VARCHAR(255),
    ADD COLUMN acked_at BIGINT,
    ADD COLUMN ack_comment VARCHAR(1000),
    ADD COLUMN ack_until BIGINT;
ALTER TABLE alert_deliveries ALTER COLUMN message TYPE TEXT;
ALTER TABLE alert_incidents ALTER COLUMN message TYPE TEXT;
