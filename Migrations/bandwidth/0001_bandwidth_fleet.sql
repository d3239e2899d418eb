-- The bandwidth service's fleet: the edges viewers are served from. Their health (up or down,
-- from their reports) lives in the service's memory; what an administrator decides is here,
-- with every change kept: who, why, when.
CREATE TABLE bandwidth.edges (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    base_url text NOT NULL CHECK (base_url ~ '^https?://' AND length(base_url) <= 300),
    network text NOT NULL CHECK (network IN ('telecom', 'unicom', 'mobile', 'cernet')),
    region text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    capacity_mbps double precision NOT NULL CHECK (capacity_mbps > 0 AND capacity_mbps <= 1000000),
    admin_state text NOT NULL DEFAULT 'active' CHECK (admin_state IN ('active', 'draining', 'cordoned')),
    -- SHA-256 of the edge's report token: shown once, never stored.
    report_token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every change to an edge, kept after the edge is removed. `by_user` is null for what the
-- service itself decided (health from reports).
CREATE TABLE bandwidth.edge_changes (
    id bigserial PRIMARY KEY,
    edge_id uuid NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    by_user uuid,
    change text NOT NULL,
    reason text CHECK (length(reason) <= 500)
);
CREATE INDEX edge_changes_by_edge ON bandwidth.edge_changes (edge_id, at);
