import Foundation
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

@Suite struct MigratorTests {
    let logger = Logger(label: "test.migrator")

    /// A migrations folder of its own with the given files.
    func folder(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, sql) in files { try sql.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return url
    }

    /// An empty database, never migrated.
    func database() async throws -> DatabaseSettings {
        try await TestPostgres.shared.freshDatabase(migrated: false)
    }

    func tables(_ settings: DatabaseSettings, schema: String) async throws -> [String] {
        try await settings.withClient(logger: logger) { client in
            var names: [String] = []
            for try await name in try await client.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(schema) ORDER BY 1", logger: logger
            ).decode(String.self) { names.append(name) }
            return names
        }
    }

    static let first = """
        CREATE SCHEMA demo;
        CREATE TABLE demo.a (id int PRIMARY KEY, note text DEFAULT 'semi;colon $$dollar$$');
        CREATE FUNCTION demo.twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2; $$;
        """

    @Test func appliesNewMigrationsInOrderOnce() async throws {
        let settings = try await database()
        let migrations = try folder(["0002_b.sql": "CREATE TABLE demo.b (a int REFERENCES demo.a);", "0001_a.sql": Self.first])
        let migrator = try Migrator(folder: migrations)
        #expect(migrator.migrations.map(\.version) == [1, 2])
        let applied = try await settings.withClient(logger: logger) { try await migrator.migrate($0, logger: logger) }
        #expect(applied.map(\.name) == ["a", "b"])
        #expect(try await tables(settings, schema: "demo") == ["a", "b"])
        let again = try await settings.withClient(logger: logger) { try await migrator.migrate($0, logger: logger) }
        #expect(again.isEmpty)
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let settings = try await database()
        let migrator = try Migrator(folder: try folder([
            "0001_a.sql": Self.first,
            "0002_broken.sql": "CREATE TABLE demo.c (id int); SELECT no_such_function();",
        ]))
        await #expect(throws: PSQLError.self) {
            try await settings.withClient(logger: logger) { try await migrator.migrate($0, logger: logger) }
        }
        #expect(try await tables(settings, schema: "demo") == ["a"])
        let versions = try await settings.withClient(logger: logger) { client in
            try await client.query("SELECT version FROM public.schema_migrations ORDER BY 1", logger: logger).collect().count
        }
        #expect(versions == 1)
    }

    @Test func anEditedAppliedMigrationStopsTheRun() async throws {
        let settings = try await database()
        let original = try Migrator(folder: try folder(["0001_a.sql": Self.first]))
        try await settings.withClient(logger: logger) { _ = try await original.migrate($0, logger: logger) }
        let edited = try Migrator(folder: try folder(["0001_a.sql": Self.first + "\n-- a quiet edit", "0002_b.sql": "CREATE TABLE demo.b (x int);"]))
        await #expect(throws: MigrationError.edited(version: 1, name: "a")) {
            try await settings.withClient(logger: logger) { try await edited.migrate($0, logger: logger) }
        }
        #expect(try await tables(settings, schema: "demo") == ["a"])
        #expect(MigrationError.edited(version: 1, name: "a").description.contains("0001_a.sql was changed"))
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let settings = try await database()
        let migrator = try Migrator(folder: try folder(["0001_a.sql": Self.first, "0002_b.sql": "CREATE TABLE demo.b (x int);"]))
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { try await settings.withClient(logger: logger) { try await migrator.migrate($0, logger: logger).count } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts.sorted() == [0, 0, 0, 2])
    }

    @Test func badFileNamesAreRefused() throws {
        #expect(throws: MigrationError.badFileName("1_a.sql")) { try Migrator(folder: try folder(["1_a.sql": "SELECT 1;"])) }
        #expect(throws: MigrationError.duplicateVersion(1)) {
            try Migrator(folder: try folder(["0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"]))
        }
    }

    @Test func theProjectsMigrationsApplyToAnEmptyDatabase() async throws {
        // freshDatabase() is a copy of the migrated template: the real files applied cleanly.
        let settings = try await TestPostgres.shared.freshDatabase()
        #expect(try await tables(settings, schema: "scheduling").contains("users"))
    }
}
