import Crypto
import Foundation
import Logging
import PostgresNIO

/// One `Migrations/NNNN_name.sql` file.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case badFileName(String)
    case duplicateVersion(Int)
    case folderMissing(String)
    case edited(version: Int, name: String)
    case unknownApplied(version: Int, name: String)
    case reservedMarker(String)

    public var description: String {
        switch self {
        case .badFileName(let name):
            "Migrations/\(name): a migration is named NNNN_name.sql (four digits, an underscore, a name)."
        case .duplicateVersion(let version):
            "Two migration files have version \(version)."
        case .folderMissing(let path):
            "No migrations folder at \(path) (set CLOUDCLASS_MIGRATIONS or pass --migrations)."
        case .edited(let version, let name):
            "Migration \(String(format: "%04d", version))_\(name).sql was changed after it was applied. "
                + "Applied migrations are history: restore the file and add a new migration instead."
        case .unknownApplied(let version, let name):
            "The database has migration \(String(format: "%04d", version))_\(name) applied, which this build does not know: it is newer than this code."
        case .reservedMarker(let name):
            "Migrations/\(name) contains the runner's reserved quoting marker."
        }
    }
}

/// Applies the new migrations in order, each in its own transaction, under an advisory lock so
/// two starting processes never migrate at once; records each with a checksum and refuses to go
/// on when an applied file has changed.
public struct Migrator: Sendable {
    /// An arbitrary constant: the advisory lock key CloudClass's migrations hold.
    static let lockKey: Int64 = 0x436C_6F75_6443_6C61
    static let bodyMarker = "$cloudclass_migration_body$"

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Reads every `NNNN_name.sql` in `folder`, in version order.
    public init(folder: URL) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw MigrationError.folderMissing(folder.path)
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            let stem = name.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), !parts[1].isEmpty else {
                throw MigrationError.badFileName(name)
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            guard !sql.contains(Self.bodyMarker) else { throw MigrationError.reservedMarker(name) }
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw MigrationError.duplicateVersion(a.version)
        }
        self.init(migrations: migrations)
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
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for try await (version, name, checksum) in try await connection.query(
            "SELECT version, name, checksum FROM public.schema_migrations",
            logger: logger
        ).decode((Int, String, String).self) {
            recorded[version] = (name, checksum)
        }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, entry) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw MigrationError.unknownApplied(version: version, name: entry.name)
            }
            guard migration.checksum == entry.checksum else {
                throw MigrationError.edited(version: version, name: migration.name)
            }
        }
        var applied: [Migration] = []
        for migration in migrations where recorded[migration.version] == nil {
            logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await connection.query("BEGIN", logger: logger)
            do {
                // The extended protocol takes one statement; PL/pgSQL's EXECUTE takes a script.
                let script = "DO \(Self.bodyMarker) BEGIN EXECUTE $cloudclass_sql$\(migration.sql)$cloudclass_sql$; END \(Self.bodyMarker)"
                guard !migration.sql.contains("$cloudclass_sql$") else { throw MigrationError.reservedMarker(migration.name) }
                try await connection.query(PostgresQuery(unsafeSQL: script), logger: logger)
                // A service's migration runs as its role (SET LOCAL ROLE); the record is ours.
                try await connection.query("RESET ROLE", logger: logger)
                try await connection.query(
                    "INSERT INTO public.schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger
                )
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            applied.append(migration)
        }
        return applied
    }
}
