-- Classes: a school's groups of pupils, by name and grade.
SET LOCAL ROLE cloudclass_scheduling;

CREATE TABLE scheduling.classes (
    id uuid PRIMARY KEY,
    school_id uuid NOT NULL REFERENCES scheduling.schools (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    grade smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, name)
);

-- A pupil's class; teachers and administrators have none.
ALTER TABLE scheduling.users ADD COLUMN class_id uuid REFERENCES scheduling.classes (id);
CREATE INDEX users_class ON scheduling.users (class_id);
