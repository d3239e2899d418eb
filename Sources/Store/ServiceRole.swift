import Logging
import PostgresNIO

/// The PostgreSQL role a service connects as: it owns the service's schema and nothing else.
public struct ServiceRole: Sendable, Equatable {
    public var service: String

    public init(service: String) {
        self.service = service
    }

    public var name: String { "cloudclass_\(service)" }

    /// Lets the role log in with `password` (stored SCRAM-hashed by PostgreSQL). Needs a
    /// privileged connection: `up` runs it after migrating.
    public func enableLogin(password: String, on client: PostgresClient, logger: Logger) async throws {
        let literal = "'" + password.replacingOccurrences(of: "'", with: "''") + "'"
        try await client.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(name) WITH LOGIN PASSWORD \(literal)"), logger: logger)
    }
}
