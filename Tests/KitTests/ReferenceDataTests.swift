import Logging
import PostgresNIO
import ServiceKit
import Store
import TestSupport
import Testing

@Suite struct ReferenceDataTests {
    @Test func theKitsRegionsAreSchedulingsRegions() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let logger = Logger(label: "test.reference")
        let stored = try await database.withConnection(logger: logger) { connection in
            var regions: [Region] = []
            for try await (code, name, nameZH) in try await connection.query(
                "SELECT code, name, name_zh FROM scheduling.regions ORDER BY code", logger: logger
            ).decode((String, String, String).self) {
                regions.append(Region(code: code, name: name, nameZH: nameZH))
            }
            return regions
        }
        #expect(stored == Region.all)
        #expect(Region.all.count == 31)
        #expect(Region.named("420000")?.name == "Hubei")
        #expect(Region.named("999999") == nil)
    }
}
