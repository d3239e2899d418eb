import ArgumentParser
import Foundation
import Logging
import ServiceCatalog
import ServiceKit
import Store

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply every service's new SQL migrations to DATABASE_URL (as a superuser: it makes their roles and schemas).")

    @Option(help: "The migrations folder (default: CLOUDCLASS_MIGRATIONS, ./Migrations, or beside the binary).")
    var migrations: String?

    func run() async throws {
        JSONLogHandler.bootstrap()
        let logger = Logger(label: "cloudclass.migrate")
        guard let url = ConfigReader().string("DATABASE_URL") else {
            throw ValidationError("Set DATABASE_URL to the database to migrate.")
        }
        let migrator = try Migrator(root: migrationsFolder(migrations), schemas: ServiceCatalog.all.map(\.schema))
        let applied = try await DatabaseSettings(url: url).withClient(logger: logger) { client in
            try await migrator.migrate(client, logger: logger)
        }
        print("\(applied.count) migration(s) applied; \(migrator.migrations.count - applied.count) were already there.")
    }
}
