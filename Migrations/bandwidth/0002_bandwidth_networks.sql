-- Where a viewer is: the administrator's `cidr,network,region` table, replaced whole. The
-- service matches addresses against it in memory (longest prefix wins); this is what survives a
-- restart. `region` is null for a network-only row.
CREATE TABLE bandwidth.network_prefixes (
    prefix cidr PRIMARY KEY,
    network text NOT NULL CHECK (network IN ('telecom', 'unicom', 'mobile', 'cernet')),
    region text CHECK (region ~ '^[0-9]{6}$')
);

-- Every replacement of the table: who, when, how many rows.
CREATE TABLE bandwidth.network_table_loads (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    by_user uuid,
    rows integer NOT NULL CHECK (rows >= 0)
);
