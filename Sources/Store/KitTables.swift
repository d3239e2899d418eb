/// The tables the kit keeps in every service's schema, made by the migrator as the service's
/// role before the service's own files, versioned as `<service>:kit`.
enum KitTables {
    static let suffix = ":kit"

    static func migrations(for schema: ServiceSchema) -> [Migration] {
        let name = schema.service
        return [
            Migration(
                service: name + suffix, version: 1, name: "messages",
                sql: """
                    -- What this service must tell another, written in the transaction of the change
                    -- and deleted once the receiver acknowledged it (one row per destination).
                    CREATE TABLE \(name).outbox (
                        id uuid PRIMARY KEY,
                        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
                        destination text NOT NULL,
                        kind text NOT NULL,
                        payload jsonb NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        attempts integer NOT NULL DEFAULT 0,
                        next_attempt_at timestamptz NOT NULL DEFAULT now(),
                        last_error text
                    );
                    CREATE INDEX outbox_due ON \(name).outbox (destination, next_attempt_at, seq);
                    -- Messages this service has applied, so a redelivery is acknowledged, not applied twice.
                    CREATE TABLE \(name).inbox (
                        message_id uuid PRIMARY KEY,
                        sender text NOT NULL,
                        kind text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            )
        ]
    }
}
