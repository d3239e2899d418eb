-- Beats update a session's row many times a lesson (every 30 s). Two changes make each update
-- cheaper for PostgreSQL (a 100-row batch upsert: ~2 ms; docs/performance.md, heartbeats):
--
-- 1. HOT updates: no index holds a column a beat changes (the "who is watching" index held
--    last_beat_at, so every beat rewrote an index entry), and the months' partitions leave room
--    on each page (fillfactor 70) for a row's new version to stay on its page, so neither index
--    is touched by a beat. Who is watching a lesson reads its sessions by lesson and filters.
-- 2. Masks ORed without a sort: the minutes by index rather than unnest … ORDER BY.
DROP INDEX attendance.sessions_lesson;
CREATE INDEX sessions_lesson ON attendance.sessions (lesson_id);

CREATE OR REPLACE FUNCTION attendance.or_minutes(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT coalesce(a[i], 0) | coalesce(b[i], 0) FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i)
$$;

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'attendance.sessions'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 70)', part);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION attendance.ensure_month(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', day)::date;
    big text;
BEGIN
    -- The writer and the roll keeper both make months at start: IF NOT EXISTS does not stop two
    -- at once from colliding (duplicate_table), one at a time does.
    PERFORM pg_advisory_xact_lock(hashtext('attendance.ensure_month'));
    FOREACH big IN ARRAY ARRAY['sessions', 'roll'] LOOP
        BEGIN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS attendance.%I PARTITION OF attendance.%I FOR VALUES FROM (%L) TO (%L) WITH (fillfactor = %s)',
                big || '_' || to_char(first, 'YYYY_MM'), big,
                first::timestamp AT TIME ZONE 'UTC', (first + interval '1 month')::timestamp AT TIME ZONE 'UTC',
                CASE big WHEN 'sessions' THEN 70 ELSE 100 END
            );
        EXCEPTION WHEN check_violation THEN
            RAISE NOTICE 'attendance.%: the month of % stays in the default partition', big, first;
        END;
    END LOOP;
END
$$;
