-- Joins, from broadcast's outbox (`session.joined`): how often a pupil joined a lesson and when
-- first. A join may arrive before, after or without any beat (attendance was down at 08:00),
-- so either may make the session's row.
ALTER TABLE attendance.sessions
    ADD COLUMN joins integer NOT NULL DEFAULT 0 CHECK (joins >= 0),
    ADD COLUMN first_joined_at timestamptz;

-- Lessons over before their scheduled end (cancelled; later also ended by broadcast): their
-- players' beats are answered `ended`. Read into memory every few seconds by each process.
CREATE TABLE attendance.lesson_ends (
    lesson_id uuid PRIMARY KEY,
    ended_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL CHECK (reason IN ('cancelled', 'ended'))
);
CREATE INDEX lesson_ends_recent ON attendance.lesson_ends (ended_at);
