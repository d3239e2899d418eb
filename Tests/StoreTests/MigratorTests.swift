import Foundation
import Logging
import PostgresNIO
import ServiceCatalog
import Store
import TestSupport
import Testing

/// Each test migrates services of its own name: roles belong to the whole test cluster.
@Suite struct MigratorTests {
    let logger = Logger(label: "test.migrator")

    /// A migrations root of its own with the given files (`service/NNNN_name.sql`).
    func root(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        for (path, sql) in files {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try sql.write(to: file, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An empty database, never migrated.
    func database() async throws -> DatabaseSettings {
        try await TestPostgres.shared.freshDatabase(migrated: false)
    }

    /// The service files applied (the kit's tables, made for every service, are left out).
    func migrate(_ migrator: Migrator, _ settings: DatabaseSettings) async throws -> [Migration] {
        try await settings.withClient(logger: logger) { try await migrator.migrate($0, logger: logger) }.filter { !$0.isKit }
    }

    func strings(_ settings: DatabaseSettings, _ query: PostgresQuery) async throws -> [String] {
        try await settings.withClient(logger: logger) { client in
            var values: [String] = []
            for try await value in try await client.query(query, logger: logger).decode(String.self) { values.append(value) }
            return values
        }
    }

    func tables(_ settings: DatabaseSettings, schema: String) async throws -> [String] {
        try await strings(
            settings,
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(schema) AND table_name NOT IN ('outbox', 'inbox') ORDER BY 1"
        )
    }

    static func first(_ schema: String) -> String {
        """
        CREATE TABLE \(schema).a (id int PRIMARY KEY, note text DEFAULT 'semi;colon $$dollar$$');
        CREATE FUNCTION \(schema).twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2; $$;
        """
    }

    @Test func appliesAServicesNewMigrationsInOrderOnceAsItsRole() async throws {
        let settings = try await database()
        let migrator = try Migrator(
            root: try root(["mig_order/0002_b.sql": "CREATE TABLE mig_order.b (a int REFERENCES mig_order.a);", "mig_order/0001_a.sql": Self.first("mig_order")]),
            schemas: [ServiceSchema(service: "mig_order")]
        )
        #expect(migrator.migrations.filter { !$0.isKit }.map(\.version) == [1, 2])
        #expect(try await migrate(migrator, settings).map(\.name) == ["a", "b"])
        #expect(try await tables(settings, schema: "mig_order") == ["a", "b"])
        #expect(try await strings(settings, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'mig_order' AND tablename IN ('outbox', 'inbox') ORDER BY 1") == ["inbox", "outbox"])
        // What the files made belongs to the service's role, which the migrator made.
        #expect(try await strings(settings, "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'mig_order'") == ["cloudclass_mig_order"])
        #expect(try await strings(settings, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'mig_order'") == ["cloudclass_mig_order"])
        #expect(try await migrate(migrator, settings).isEmpty)
    }

    @Test func twoServicesNumberTheirMigrationsApart() async throws {
        let settings = try await database()
        let migrator = try Migrator(
            root: try root([
                "mig_left/0001_start.sql": "CREATE TABLE mig_left.items (id int);",
                "mig_right/0001_start.sql": "CREATE TABLE mig_right.items (id int);",
            ]),
            schemas: [ServiceSchema(service: "mig_left"), ServiceSchema(service: "mig_right")]
        )
        #expect(try await migrate(migrator, settings).map(\.fileName) == ["mig_left/0001_start.sql", "mig_right/0001_start.sql"])
        #expect(
            try await strings(settings, "SELECT service || '/' || version FROM public.service_migrations WHERE service NOT LIKE '%:kit' ORDER BY 1") == ["mig_left/1", "mig_right/1"]
        )
        // A migration of one service cannot reach into another's schema: it runs as its role.
        let intruder = try Migrator(
            root: try root(["mig_left/0001_start.sql": "CREATE TABLE mig_left.items (id int);", "mig_left/0002_reach.sql": "SELECT * FROM mig_right.items;"]),
            schemas: [ServiceSchema(service: "mig_left")]
        )
        await #expect(throws: PSQLError.self) { try await migrate(intruder, settings) }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let settings = try await database()
        let migrator = try Migrator(
            root: try root([
                "mig_fail/0001_a.sql": Self.first("mig_fail"),
                "mig_fail/0002_broken.sql": "CREATE TABLE mig_fail.c (id int); SELECT no_such_function();",
            ]),
            schemas: [ServiceSchema(service: "mig_fail")]
        )
        await #expect(throws: PSQLError.self) { try await migrate(migrator, settings) }
        #expect(try await tables(settings, schema: "mig_fail") == ["a"])
        #expect(try await strings(settings, "SELECT version::text FROM public.service_migrations WHERE service NOT LIKE '%:kit'") == ["1"])
    }

    @Test func anEditedAppliedMigrationStopsTheRun() async throws {
        let settings = try await database()
        let schemas = [ServiceSchema(service: "mig_edit")]
        _ = try await migrate(try Migrator(root: try root(["mig_edit/0001_a.sql": Self.first("mig_edit")]), schemas: schemas), settings)
        let edited = try Migrator(
            root: try root(["mig_edit/0001_a.sql": Self.first("mig_edit") + "\n-- a quiet edit", "mig_edit/0002_b.sql": "CREATE TABLE mig_edit.b (x int);"]),
            schemas: schemas
        )
        await #expect(throws: MigrationError.edited(service: "mig_edit", version: 1, name: "a")) { try await migrate(edited, settings) }
        #expect(try await tables(settings, schema: "mig_edit") == ["a"])
        #expect(MigrationError.edited(service: "mig_edit", version: 1, name: "a").description.contains("mig_edit/0001_a.sql was changed"))
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let settings = try await database()
        let migrator = try Migrator(
            root: try root(["mig_race/0001_a.sql": Self.first("mig_race"), "mig_race/0002_b.sql": "CREATE TABLE mig_race.b (x int);"]),
            schemas: [ServiceSchema(service: "mig_race")]
        )
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { try await migrate(migrator, settings).count } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts.sorted() == [0, 0, 0, 2])
        #expect(try await strings(settings, "SELECT count(*)::text FROM public.service_migrations") == ["3"])  // two files and the kit's tables
    }

    @Test func badLayoutsAreRefused() throws {
        let schemas = [ServiceSchema(service: "mig_names")]
        #expect(throws: MigrationError.badFileName("mig_names/1_a.sql")) { try Migrator(root: try root(["mig_names/1_a.sql": "SELECT 1;"]), schemas: schemas) }
        #expect(throws: MigrationError.duplicateVersion(service: "mig_names", version: 1)) {
            try Migrator(root: try root(["mig_names/0001_a.sql": "SELECT 1;", "mig_names/0001_b.sql": "SELECT 1;"]), schemas: schemas)
        }
        #expect(throws: MigrationError.flatFile("0001_a.sql")) { try Migrator(root: try root(["0001_a.sql": "SELECT 1;"]), schemas: schemas) }
    }

    /// A data folder from before per-service folders: the same five files applied by the flat
    /// migrator (as the superuser, recorded in `public.schema_migrations`). It starts, applies
    /// nothing again, and goes on with the service's next file as the service's role.
    @Test func aDatabaseMigratedBeforePerServiceFoldersGoesOnMigrating() async throws {
        let settings = try await database()
        let scheduling = try #require(ServiceCatalog.descriptor(.scheduling)).schema
        let current = try Migrator(root: TestPostgres.migrationsFolder, schemas: [scheduling])
        let flat = current.migrations.filter { !$0.isKit && $0.version <= 5 }
        #expect(flat.map(\.version) == [1, 2, 3, 4, 5])
        try await settings.withClient(logger: logger) { client in
            // What the flat migrator did, file by file.
            try await client.query(
                "CREATE TABLE public.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
            for migration in flat {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "DO $m$ BEGIN EXECUTE $s$\(migration.sql)$s$; END $m$"), logger: logger
                    )
                    try await connection.query("RESET ROLE", logger: logger)
                    try await connection.query(
                        "INSERT INTO public.schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                        logger: logger
                    )
                }
            }
        }
        let flatOnly = try Migrator(root: try root(Dictionary(uniqueKeysWithValues: flat.map { ($0.fileName, $0.sql) })), schemas: [scheduling])
        #expect(try await migrate(flatOnly, settings).isEmpty)
        #expect(try await strings(settings, "SELECT service || '/' || version FROM public.service_migrations WHERE service = 'scheduling'").count == 5)
        #expect(try await strings(settings, "SELECT coalesce(to_regclass('public.schema_migrations')::text, 'gone')") == ["gone"])

        var files: [String: String] = [:]
        for migration in flat { files[migration.fileName] = migration.sql }
        files["scheduling/0006_next.sql"] = "CREATE TABLE scheduling.next_thing (id int);"
        let next = try Migrator(root: try root(files), schemas: [scheduling])
        #expect(try await migrate(next, settings).map(\.fileName) == ["scheduling/0006_next.sql"])
        #expect(try await strings(settings, "SELECT tableowner::text FROM pg_tables WHERE tablename = 'next_thing'") == ["cloudclass_scheduling"])
    }

    @Test func theProjectsMigrationsApplyToAnEmptyDatabase() async throws {
        // freshDatabase() is a copy of the migrated template: the real files applied cleanly.
        let settings = try await TestPostgres.shared.freshDatabase()
        #expect(try await tables(settings, schema: "scheduling").contains("users"))
    }
}
