import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// What the database refuses as a value is recognised (so the kit answers 422 naming the
/// field), and nothing else is mistaken for it.
@Suite struct RefusedValueTests {
    let logger = Logger(label: "test.refused")

    func refusal(_ statement: String) async throws -> (field: String, sqlState: String)? {
        let database = try await TestPostgres.shared.freshDatabase()
        return try await database.withClient(logger: logger) { client in
            try await client.query("CREATE TABLE things (name text NOT NULL CHECK (length(name) <= 3), day date)", logger: logger)
            do {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                return nil
            } catch {
                return error.refusedValue
            }
        }
    }

    @Test func aCheckViolationNamesItsColumn() async throws {
        let refused = try await refusal("INSERT INTO things (name) VALUES ('long')")
        #expect(refused?.field == "name")
        #expect(refused?.sqlState == "23514")
    }

    @Test func aNullNamesItsColumn() async throws {
        #expect(try await refusal("INSERT INTO things (name) VALUES (NULL)")?.field == "name")
    }

    @Test func aDataExceptionIsARefusedValue() async throws {
        let refused = try await refusal("INSERT INTO things (name, day) VALUES ('a', '0000-01-01')")
        #expect(refused?.sqlState.hasPrefix("22") == true)
    }

    @Test func otherErrorsAreNot() async throws {
        #expect(try await refusal("INSERT INTO nowhere VALUES (1)")?.sqlState == nil)
    }
}
