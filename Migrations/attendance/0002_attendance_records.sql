-- The lasting record: who should have been at each lesson, the rules that judge it, and the
-- teachers' overrides. Scheduling owns lessons and rosters; when a lesson ends this service keeps
-- its own copy of the lesson's facts and roll, so next term's roster import does not rewrite an
-- old report (and a report still reads when scheduling is down).

-- A lesson whose roll was taken (at or after its end). Its facts as they were then.
CREATE TABLE attendance.lessons (
    lesson_id uuid PRIMARY KEY,
    course_id uuid NOT NULL,
    teacher_id uuid NOT NULL,
    title text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    roll_taken_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lessons_times CHECK (ends_at > starts_at)
);
-- Range reports of a course's and a teacher's lessons.
CREATE INDEX lessons_course ON attendance.lessons (course_id, starts_at);
CREATE INDEX lessons_teacher ON attendance.lessons (teacher_id, starts_at);

-- The pupils who should have been there, one row per (lesson, pupil): as big as the sessions, so
-- partitioned the same way (by the lesson's month, keyed by lesson first).
CREATE TABLE attendance.roll (
    lesson_starts_at timestamptz NOT NULL,
    lesson_id uuid NOT NULL,
    pupil_id uuid NOT NULL,
    display_name text NOT NULL,
    class_id uuid,
    class_name text,
    PRIMARY KEY (lesson_starts_at, lesson_id, pupil_id)
) PARTITION BY RANGE (lesson_starts_at);
CREATE TABLE attendance.roll_default PARTITION OF attendance.roll DEFAULT;
CREATE INDEX roll_lesson ON attendance.roll (lesson_id);
-- A pupil's record and a class's rate over a date range.
CREATE INDEX roll_pupil ON attendance.roll (pupil_id, lesson_starts_at);
CREATE INDEX roll_class ON attendance.roll (class_id, lesson_starts_at);

-- How far the walk over ended lessons has come (one row): the last lesson whose roll was kept.
CREATE TABLE attendance.roll_cursor (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    ended_at timestamptz NOT NULL,
    lesson_id uuid NOT NULL
);

-- Rules that judge a pupil's minutes: per course, and per lesson over its course's.
CREATE TABLE attendance.course_rules (
    course_id uuid PRIMARY KEY,
    watched_percent smallint NOT NULL CHECK (watched_percent BETWEEN 1 AND 100),
    late_minutes smallint NOT NULL CHECK (late_minutes BETWEEN 0 AND 360),
    set_by uuid NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE attendance.lesson_rules (
    lesson_id uuid PRIMARY KEY,
    watched_percent smallint NOT NULL CHECK (watched_percent BETWEEN 1 AND 100),
    late_minutes smallint NOT NULL CHECK (late_minutes BETWEEN 0 AND 360),
    set_by uuid NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);

-- A teacher's word on a pupil's status, every change kept: the latest row per (lesson, pupil)
-- holds; a row with no status takes the override back (the computed status holds again).
CREATE TABLE attendance.overrides (
    id bigserial PRIMARY KEY,
    lesson_id uuid NOT NULL,
    pupil_id uuid NOT NULL,
    status text CHECK (status IN ('present', 'late', 'partial', 'absent', 'excused')),
    note text NOT NULL CHECK (length(note) <= 1000),
    set_by uuid NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX overrides_latest ON attendance.overrides (lesson_id, pupil_id, id DESC);

-- The month's partitions of both big tables. A month whose rows already sit in a default
-- partition stays there (PostgreSQL refuses the new partition with check_violation): one table's
-- refusal does not keep the other from its partition.
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
                'CREATE TABLE IF NOT EXISTS attendance.%I PARTITION OF attendance.%I FOR VALUES FROM (%L) TO (%L)',
                big || '_' || to_char(first, 'YYYY_MM'), big,
                first::timestamp AT TIME ZONE 'UTC', (first + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
        EXCEPTION WHEN check_violation THEN
            RAISE NOTICE 'attendance.%: the month of % stays in the default partition', big, first;
        END;
    END LOOP;
END
$$;
