-- Retention: these are minors' records, kept for years and then anonymised or dropped by an
-- operator (`cloudclass attendance-retention`); the running service never deletes them.
--
-- Whole months at a time, the unit the big tables are partitioned by: a month before `cutoff`
-- (the first of a month) is
--   anonymise: every pupil id in its sessions, roll and overrides replaced by an id derived from
--              (lesson, pupil) and a salt made for this run and never stored, so a lesson's rows
--              still match each other (class and lesson rates stay right) but no two lessons'
--              rows can be linked to one child; names, join times and override notes erased.
--   drop:      its partitions dropped (rows in the default partitions deleted), its overrides
--              deleted. The lessons' facts stay (no child's data), so a report of such a lesson
--              shows an empty roll rather than taking a new roll from today's classes.
-- Every month applied is logged; a month already anonymised is not done again.
CREATE TABLE attendance.retention_log (
    month date NOT NULL,
    action text NOT NULL CHECK (action IN ('anonymise', 'drop')),
    sessions bigint NOT NULL,
    roll bigint NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, action)
);

-- The months before `cutoff` holding anything, with their rows (a dry run's answer).
CREATE FUNCTION attendance.retention_months(cutoff date) RETURNS TABLE (month date, sessions bigint, roll bigint)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT date_trunc('month', lesson_starts_at AT TIME ZONE 'UTC')::date AS month, count(*) AS n
               FROM attendance.sessions WHERE lesson_starts_at < cutoff::timestamp AT TIME ZONE 'UTC' GROUP BY 1),
         r AS (SELECT date_trunc('month', lesson_starts_at AT TIME ZONE 'UTC')::date AS month, count(*) AS n
               FROM attendance.roll WHERE lesson_starts_at < cutoff::timestamp AT TIME ZONE 'UTC' GROUP BY 1)
    SELECT coalesce(s.month, r.month), coalesce(s.n, 0), coalesce(r.n, 0)
    FROM s FULL JOIN r ON s.month = r.month
    ORDER BY 1
$$;

CREATE FUNCTION attendance.apply_retention(cutoff date, action text) RETURNS TABLE (month date, sessions bigint, roll bigint)
LANGUAGE plpgsql AS $$
DECLARE
    salt text := gen_random_uuid()::text;
    months date[];
    session_counts bigint[];
    roll_counts bigint[];
    i integer;
    m record;
    first timestamptz;
    last timestamptz;
    big text;
BEGIN
    IF action NOT IN ('anonymise', 'drop') THEN
        RAISE EXCEPTION 'action must be anonymise or drop, not %', action USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cutoff <> date_trunc('month', cutoff)::date THEN
        RAISE EXCEPTION 'the cutoff % is not the first of a month', cutoff USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One run at a time, and none while the roll keeper makes months.
    PERFORM pg_advisory_xact_lock(hashtext('attendance.ensure_month'));
    -- Read before anything is dropped: an open scan of a table keeps it from being dropped.
    SELECT array_agg(r.month ORDER BY r.month), array_agg(r.sessions ORDER BY r.month), array_agg(r.roll ORDER BY r.month)
    INTO months, session_counts, roll_counts
    FROM attendance.retention_months(cutoff) r;
    FOR i IN 1..coalesce(array_length(months, 1), 0) LOOP
        SELECT months[i] AS month, session_counts[i] AS sessions, roll_counts[i] AS roll INTO m;
        CONTINUE WHEN action = 'anonymise' AND EXISTS (
            SELECT 1 FROM attendance.retention_log l WHERE l.month = m.month AND l.action = 'anonymise'
        );
        first := m.month::timestamp AT TIME ZONE 'UTC';
        last := (m.month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        IF action = 'drop' THEN
            DELETE FROM attendance.overrides o USING attendance.lessons l
            WHERE o.lesson_id = l.lesson_id AND l.starts_at >= first AND l.starts_at < last;
            FOREACH big IN ARRAY ARRAY['sessions', 'roll'] LOOP
                EXECUTE format('DROP TABLE IF EXISTS attendance.%I', big || '_' || to_char(m.month, 'YYYY_MM'));
                EXECUTE format('DELETE FROM attendance.%I WHERE lesson_starts_at >= %L AND lesson_starts_at < %L', big, first, last);
            END LOOP;
        ELSE
            UPDATE attendance.sessions SET
                pupil_id = md5(salt || lesson_id::text || pupil_id::text)::uuid,
                session_id = md5(salt || 'session' || lesson_id::text || pupil_id::text)::uuid,
                first_beat_at = NULL, last_beat_at = NULL, left_at = NULL, first_joined_at = NULL
            WHERE lesson_starts_at >= first AND lesson_starts_at < last;
            UPDATE attendance.roll SET pupil_id = md5(salt || lesson_id::text || pupil_id::text)::uuid, display_name = ''
            WHERE lesson_starts_at >= first AND lesson_starts_at < last;
            UPDATE attendance.overrides o SET pupil_id = md5(salt || o.lesson_id::text || o.pupil_id::text)::uuid, note = ''
            FROM attendance.lessons l
            WHERE o.lesson_id = l.lesson_id AND l.starts_at >= first AND l.starts_at < last;
        END IF;
        INSERT INTO attendance.retention_log (month, action, sessions, roll) VALUES (m.month, action, m.sessions, m.roll)
        ON CONFLICT ON CONSTRAINT retention_log_pkey DO UPDATE SET sessions = excluded.sessions, roll = excluded.roll, applied_at = now();
        month := m.month;
        sessions := m.sessions;
        roll := m.roll;
        RETURN NEXT;
    END LOOP;
END
$$;
