import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// A service's database role reaches its own schema and nothing else.
@Suite struct ServiceBoundaryTests {
    let logger = Logger(label: "test.boundary")

    @Test func schedulingsRoleIsDeniedAnotherServicesSchema() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        // Another service's schema, owned by another role, as its migrations will make it.
        try await database.withClient(logger: logger) { client in
            for statement in [
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudclass_probe') THEN CREATE ROLE cloudclass_probe NOLOGIN; END IF; END $$",
                "CREATE SCHEMA probe AUTHORIZATION cloudclass_probe",
                "CREATE TABLE probe.secrets (id int)",
                "INSERT INTO probe.secrets VALUES (1)",
            ] {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        let scheduling = TestPostgres.asService("scheduling", database)
        try await scheduling.withClient(logger: logger) { client in
            // Its own schema works…
            let users = try await client.query("SELECT count(*) FROM scheduling.users", logger: logger).collect()
            #expect(users.count == 1)
            // …another's does not, for reading or writing, nor does the migrations' record.
            for statement in [
                "SELECT * FROM probe.secrets",
                "INSERT INTO probe.secrets VALUES (2)",
                "SELECT * FROM public.service_migrations",
                "CREATE TABLE public.sneaky (id int)",
            ] {
                do {
                    try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    Issue.record("\(statement) was allowed")
                } catch {
                    #expect(error.sqlState == "42501", "\(statement): \(String(reflecting: error))")
                }
            }
            let superuser = try await client.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", logger: logger)
            for try await isSuperuser in superuser.decode(Bool.self) { #expect(!isSuperuser) }
        }
    }
}
