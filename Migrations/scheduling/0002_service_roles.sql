-- One PostgreSQL role per service, owning its schema and granted nothing in the others': the
-- boundary between services is enforced by the database. Roles are created without LOGIN and
-- without any superuser power; `cloudclass up` (or the operator) gives each a password and
-- LOGIN. From now on each service's migrations begin with `SET LOCAL ROLE cloudclass_<service>;`
-- so that what they create belongs to that service.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudclass_scheduling') THEN
        CREATE ROLE cloudclass_scheduling NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;

ALTER SCHEMA scheduling OWNER TO cloudclass_scheduling;

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = 'scheduling' LOOP
        EXECUTE format('ALTER TABLE scheduling.%I OWNER TO cloudclass_scheduling', name);
    END LOOP;
END
$$;

-- Nobody but the migrating superuser may create objects outside their own schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
