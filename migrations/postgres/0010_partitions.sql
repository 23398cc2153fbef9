-- The per-poll and per-partition sample tables become partitioned by time (ts, epoch
-- milliseconds): one partition per UTC day, made by Osprey before the first write of a day
-- (`store::partitions`) and dropped whole once past retention, instead of DELETEs that leave the
-- tables bloated. Each existing table that holds rows becomes the first partition, from the
-- beginning of time to the next UTC midnight (ATTACH checks its rows once; nothing is copied);
-- an empty one is dropped. The days up to the day after tomorrow get their partitions here, so
-- instances still on the previous version keep writing during a rolling upgrade.
DO $$
DECLARE
    sample_table TEXT;
    initial TEXT;
    newest BIGINT;
    upper_bound BIGINT;
    today BIGINT := (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT;
    day_start BIGINT;
BEGIN
    FOREACH sample_table IN ARRAY ARRAY[
        'cluster_samples', 'broker_samples', 'topic_samples', 'group_samples',
        'group_topic_samples', 'group_partition_samples', 'queue_samples', 'metric_samples'
    ] LOOP
        initial := sample_table || '_initial';
        EXECUTE format('ALTER TABLE %I RENAME TO %I', sample_table, initial);
        EXECUTE format(
            'CREATE TABLE %I (LIKE %I INCLUDING ALL) PARTITION BY RANGE (ts)',
            sample_table, initial
        );
        EXECUTE format('SELECT MAX(ts) FROM %I', initial) INTO newest;
        IF newest IS NULL THEN
            EXECUTE format('DROP TABLE %I', initial);
            upper_bound := NULL;
        ELSE
            upper_bound := GREATEST(newest + 1, today);
            upper_bound := upper_bound - upper_bound % 86400000 + 86400000;
            EXECUTE format(
                'ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%s)',
                sample_table, initial, upper_bound
            );
        END IF;
        FOR ahead IN 0..2 LOOP
            day_start := today - today % 86400000 + ahead * 86400000;
            IF upper_bound IS NULL OR day_start >= upper_bound THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                    sample_table || '_p'
                        || to_char(to_timestamp(day_start / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD'),
                    sample_table, day_start, day_start + 86400000
                );
            END IF;
        END LOOP;
    END LOOP;
END
$$;
