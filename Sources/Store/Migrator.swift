import Crypto
import Foundation
import Logging
import PostgresNIO

/// One `Migrations/<service>/NNNN_name.sql` file.
public struct Migration: Sendable, Equatable {
    public var service: String
    public var version: Int
    public var name: String
    public var sql: String

    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public var fileName: String { "\(service)/\(String(format: "%04d", version))_\(name).sql" }

    /// The kit's own tables in a service's schema (the outbox and inbox), recorded as `<service>:kit`.
    public var isKit: Bool { service.hasSuffix(KitTables.suffix) }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case badFileName(String)
    case duplicateVersion(service: String, version: Int)
    case folderMissing(String)
    case edited(service: String, version: Int, name: String)
    case unknownApplied(service: String, version: Int, name: String)
    case reservedMarker(String)
    case flatFile(String)

    public var description: String {
        switch self {
        case .badFileName(let name):
            "Migrations/\(name): a migration is named NNNN_name.sql (four digits, an underscore, a name)."
        case .duplicateVersion(let service, let version):
            "Two migration files of \(service) have version \(version)."
        case .folderMissing(let path):
            "No migrations folder at \(path) (set CLOUDCLASS_MIGRATIONS or pass --migrations)."
        case .edited(let service, let version, let name):
            "Migration \(service)/\(String(format: "%04d", version))_\(name).sql was changed after it was applied. "
                + "Applied migrations are history: restore the file and add a new migration instead."
        case .unknownApplied(let service, let version, let name):
            "The database has migration \(service)/\(String(format: "%04d", version))_\(name) applied, which this build does not know: it is newer than this code."
        case .reservedMarker(let name):
            "Migrations/\(name) contains the runner's reserved quoting marker."
        case .flatFile(let name):
            "Migrations/\(name): migrations live in a folder per service (Migrations/<service>/NNNN_name.sql)."
        }
    }
}

/// Applies each service's new migrations in order, each in its own transaction and as the
/// service's role, under an advisory lock so two starting processes never migrate at once. Before
/// a service's migrations it makes the service's role, schema and extensions. Versions are
/// numbered and recorded per service, so two services' migrations written in parallel never
/// collide; an applied file that changed stops the run.
public struct Migrator: Sendable {
    /// An arbitrary constant: the advisory lock key CloudClass's migrations hold.
    static let lockKey: Int64 = 0x436C_6F75_6443_6C61
    static let bodyMarker = "$cloudclass_migration_body$"

    public let schemas: [ServiceSchema]
    public let migrations: [Migration]

    public init(schemas: [ServiceSchema], migrations: [Migration]) {
        self.schemas = schemas
        self.migrations = migrations
    }

    /// Reads every `<service>/NNNN_name.sql` under `root` for the given services, in version order.
    public init(root: URL, schemas: [ServiceSchema]) throws {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root.path) else {
            throw MigrationError.folderMissing(root.path)
        }
        if let flat = entries.sorted().first(where: { $0.hasSuffix(".sql") }) { throw MigrationError.flatFile(flat) }
        var migrations: [Migration] = []
        for schema in schemas {
            let folder = root.appendingPathComponent(schema.service)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            var own: [Migration] = []
            for name in names where name.hasSuffix(".sql") {
                let parts = name.dropLast(4).split(separator: "_", maxSplits: 1)
                guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), !parts[1].isEmpty else {
                    throw MigrationError.badFileName("\(schema.service)/\(name)")
                }
                let sql = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                guard !sql.contains(Self.bodyMarker), !sql.contains("$cloudclass_sql$") else {
                    throw MigrationError.reservedMarker("\(schema.service)/\(name)")
                }
                own.append(Migration(service: schema.service, version: version, name: String(parts[1]), sql: sql))
            }
            own.sort { $0.version < $1.version }
            for (a, b) in zip(own, own.dropFirst()) where a.version == b.version {
                throw MigrationError.duplicateVersion(service: schema.service, version: a.version)
            }
            migrations += KitTables.migrations(for: schema) + own
        }
        self.init(schemas: schemas, migrations: migrations)
    }

    /// Applies what is new; returns the migrations applied by this call.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Migration] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let applied = try await apply(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        try await transaction(on: connection, logger: logger) {
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS public.service_migrations (
                    service text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (service, version)
                )
                """,
                logger: logger
            )
            try await adoptFlatRecord(on: connection, logger: logger)
        }
        var recorded: [String: [Int: (name: String, checksum: String)]] = [:]
        for try await (service, version, name, checksum) in try await connection.query(
            "SELECT service, version, name, checksum FROM public.service_migrations", logger: logger
        ).decode((String, Int, String, String).self) {
            recorded[service, default: [:]][version] = (name, checksum)
        }
        // Only this migrator's services are checked: another build may run the others.
        for service in schemas.flatMap({ [$0.service, $0.service + KitTables.suffix] }) {
            let entries = recorded[service] ?? [:]
            let known = Dictionary(uniqueKeysWithValues: migrations.filter { $0.service == service }.map { ($0.version, $0) })
            for (version, entry) in entries.sorted(by: { $0.key < $1.key }) {
                guard let migration = known[version] else {
                    throw MigrationError.unknownApplied(service: service, version: version, name: entry.name)
                }
                guard migration.checksum == entry.checksum else {
                    throw MigrationError.edited(service: service, version: version, name: migration.name)
                }
            }
        }
        var applied: [Migration] = []
        for schema in schemas {
            try await transaction(on: connection, logger: logger) { try await prepare(schema, on: connection, logger: logger) }
            let own = migrations.filter { $0.service == schema.service || $0.service == schema.service + KitTables.suffix }
            for migration in own where recorded[migration.service]?[migration.version] == nil {
                logger.info("applying migration", metadata: ["file": "\(migration.fileName)"])
                try await transaction(on: connection, logger: logger) {
                    // Files from before per-service folders set their own role; every later one
                    // runs as the service's role, so what it creates belongs to the service.
                    if migration.isKit || schema.legacyFlatVersions?.contains(migration.version) != true {
                        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(schema.role.name)"), logger: logger)
                    }
                    // The extended protocol takes one statement; PL/pgSQL's EXECUTE takes a script.
                    let script = "DO \(Self.bodyMarker) BEGIN EXECUTE $cloudclass_sql$\(migration.sql)$cloudclass_sql$; END \(Self.bodyMarker)"
                    try await connection.query(PostgresQuery(unsafeSQL: script), logger: logger)
                    try await connection.query("RESET ROLE", logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO public.service_migrations (service, version, name, checksum)
                        VALUES (\(migration.service), \(migration.version), \(migration.name), \(migration.checksum))
                        """,
                        logger: logger
                    )
                }
                applied.append(migration)
            }
        }
        return applied
    }

    /// The service's role (no login, no powers; `up` or the operator gives it a password), its
    /// schema owned by it, its extensions, and no JIT (services run short queries: JIT took 1.8 s
    /// of a 2.4 s audience query). Idempotent: it runs before every migration pass.
    private func prepare(_ schema: ServiceSchema, on connection: PostgresConnection, logger: Logger) async throws {
        let role = schema.role.name
        let statements = [
            // Roles belong to the cluster, not the database: another database's migrator may
            // make the same one at the same moment.
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role)') THEN
                    CREATE ROLE \(role) NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$
            """,
            "CREATE SCHEMA IF NOT EXISTS \(schema.service) AUTHORIZATION \(role)",
            "ALTER SCHEMA \(schema.service) OWNER TO \(role)",
            "ALTER ROLE \(role) SET jit = off",
            // Nobody but the migrating superuser may create objects outside their own schema.
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ] + schema.extensions.map { "CREATE EXTENSION IF NOT EXISTS \($0) WITH SCHEMA public" }
        for statement in statements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// A database migrated before per-service folders recorded its versions in one flat table;
    /// they become the versions of the service that owned them, and the flat table goes.
    private func adoptFlatRecord(on connection: PostgresConnection, logger: Logger) async throws {
        let exists = try await connection.query("SELECT to_regclass('public.schema_migrations') IS NOT NULL", logger: logger)
        var found = false
        for try await value in exists.decode(Bool.self) { found = value }
        guard found else { return }
        var adopted = 0
        for schema in schemas {
            guard let range = schema.legacyFlatVersions else { continue }
            let rows = try await connection.query(
                """
                INSERT INTO public.service_migrations (service, version, name, checksum, applied_at)
                SELECT \(schema.service), version, name, checksum, applied_at FROM public.schema_migrations
                WHERE version BETWEEN \(range.lowerBound) AND \(range.upperBound)
                ON CONFLICT DO NOTHING
                RETURNING version
                """,
                logger: logger
            ).collect()
            adopted += rows.count
        }
        for try await (version, name) in try await connection.query(
            "SELECT version, name FROM public.schema_migrations ORDER BY version", logger: logger
        ).decode((Int, String).self) where !schemas.contains(where: { $0.legacyFlatVersions?.contains(version) == true }) {
            throw MigrationError.unknownApplied(service: "(flat)", version: version, name: name)
        }
        try await connection.query("DROP TABLE public.schema_migrations", logger: logger)
        logger.info("adopted the flat migration record", metadata: ["versions": "\(adopted)"])
    }

    private func transaction(on connection: PostgresConnection, logger: Logger, _ body: () async throws -> Void) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await body()
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
