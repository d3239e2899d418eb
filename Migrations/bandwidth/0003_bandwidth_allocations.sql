-- Allocations (leases) as acknowledged: an allocation is answered only once its row is
-- committed, so after a crash the accounting is rebuilt from here and no edge is promised past
-- its capacity meanwhile. Renewals are not written (a restored lease gets a fresh term and
-- expires if nobody renews it); releases, expiries and moves delete rows in batches.
-- `replaces` is the lease a move took the viewer from, so its holder still learns of the move
-- after a restart.
CREATE TABLE bandwidth.allocations (
    id uuid PRIMARY KEY,
    lesson_id uuid NOT NULL,
    edge_id uuid NOT NULL,
    network text NOT NULL CHECK (network IN ('telecom', 'unicom', 'mobile', 'cernet')),
    region text NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    asked_rendition text NOT NULL,
    rendition text NOT NULL,
    bitrate_mbps double precision NOT NULL CHECK (bitrate_mbps > 0),
    replaces uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
