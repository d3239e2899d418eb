-- When a user was deactivated: every service pulls "deactivated since" and refuses those users'
-- access tokens (valid for up to 12 h) within seconds, without a database read per request.
ALTER TABLE scheduling.users ADD COLUMN deactivated_at timestamptz;
UPDATE scheduling.users SET deactivated_at = now() WHERE NOT active;
CREATE INDEX users_deactivated_at ON scheduling.users (deactivated_at) WHERE deactivated_at IS NOT NULL;
