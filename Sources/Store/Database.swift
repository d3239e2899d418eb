import Logging
import PostgresNIO
import Synchronization

/// A service's PostgreSQL pool, counting what PostgresClient does not expose: connections in use
/// and requests waiting for one (for `/metrics`). Every query goes through it.
public final class Database: Sendable {
    public let client: PostgresClient
    private let inUse = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    public init(client: PostgresClient) {
        self.client = client
    }

    public convenience init(settings: DatabaseSettings, logger: Logger) {
        self.init(client: PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger))
    }

    public var connectionsInUse: Int { inUse.load(ordering: .relaxed) }
    public var requestsWaiting: Int { waiting.load(ordering: .relaxed) }

    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        waiting.wrappingAdd(1, ordering: .relaxed)
        var leased = false
        defer {
            if leased { inUse.wrappingSubtract(1, ordering: .relaxed) } else { waiting.wrappingSubtract(1, ordering: .relaxed) }
        }
        return try await client.withConnection { connection in
            waiting.wrappingSubtract(1, ordering: .relaxed)
            inUse.wrappingAdd(1, ordering: .relaxed)
            leased = true
            return try await body(connection)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func withTransaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Runs one statement and returns all its rows.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await connection.query(query, logger: logger).collect()
        }
    }
}
