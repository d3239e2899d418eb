-- Viewing sessions: one row per (lesson, pupil), the union of everything its beats said was
-- played. `played[m]` (1-based) holds minute m-1 of the lesson as a mask of seconds (bit s =
-- second 60(m-1)+s), so a 45-minute lesson is 45 integers and a beat sent twice, two tabs or a
-- reconnect never count a second twice. Beats are not rows: the service merges a batch in
-- memory and writes it as one upsert, ORing masks with `or_minutes`.
--
-- Partitioned by the lesson's month (these are minors' records, kept for years: the retention
-- command drops or anonymises whole months) and keyed by lesson first, the column a distributed
-- PostgreSQL would shard on. The default partition only catches a month nobody created (the
-- service creates the months around now at start and daily).
CREATE TABLE attendance.sessions (
    lesson_starts_at timestamptz NOT NULL,
    lesson_id uuid NOT NULL,
    pupil_id uuid NOT NULL,
    session_id uuid NOT NULL,
    lesson_ends_at timestamptz NOT NULL,
    played bigint[] NOT NULL DEFAULT '{}',
    first_beat_at timestamptz,
    last_beat_at timestamptz,
    beats integer NOT NULL DEFAULT 0 CHECK (beats >= 0),
    -- The first second played (lesson time): lateness is judged from it.
    first_played_second integer,
    left_at timestamptz,
    PRIMARY KEY (lesson_starts_at, lesson_id, pupil_id),
    CONSTRAINT sessions_lesson_times CHECK (lesson_ends_at > lesson_starts_at),
    CONSTRAINT sessions_played_minutes CHECK (cardinality(played) <= 1440)
) PARTITION BY RANGE (lesson_starts_at);

CREATE TABLE attendance.sessions_default PARTITION OF attendance.sessions DEFAULT;

-- Who is watching a lesson now: its sessions by last beat.
CREATE INDEX sessions_lesson ON attendance.sessions (lesson_id, last_beat_at);

-- Masks ORed minute by minute; the shorter array counts as zeros past its end.
CREATE FUNCTION attendance.or_minutes(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) | coalesce(y, 0) ORDER BY i), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS m(x, y, i)
$$;

-- The month (UTC) holding `day` as a partition of its own, if it is not one yet. The service
-- makes last month to two months ahead before it writes anything, so the default partition only
-- takes a lesson far outside that (and a month with rows there stays in it).
CREATE FUNCTION attendance.ensure_month(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', day)::date;
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS attendance.%I PARTITION OF attendance.sessions FOR VALUES FROM (%L) TO (%L)',
        'sessions_' || to_char(first, 'YYYY_MM'), first::timestamp AT TIME ZONE 'UTC', (first + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
END
$$;
