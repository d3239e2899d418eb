-- Accounts that sign in for the first time with a one-time code, and per-user calendar feeds.
SET LOCAL ROLE cloudclass_scheduling;

-- A new user without a password gets a code the school hands out. Only its SHA-256 (salted with
-- the user id) is kept; it dies on use, after 30 days, or after 5 wrong tries.
CREATE TABLE scheduling.activation_codes (
    user_id uuid PRIMARY KEY REFERENCES scheduling.users (id),
    code_hash bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    failed_attempts smallint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The secret in a user's calendar URL (made on first use of /me).
ALTER TABLE scheduling.users ADD COLUMN calendar_token text UNIQUE;
