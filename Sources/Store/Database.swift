import Logging
import PostgresNIO
import Synchronization

/// A service's PostgreSQL pool, counting what PostgresClient does not expose: connections in use
/// and requests waiting for one (for `/metrics`). Every query goes through it.
public final class Database: Sendable {
    /// How long idempotent work keeps retrying while the database is out of reach (a restart or
    /// a Patroni failover takes a few seconds).
    public struct RetryPolicy: Sendable {
        public var budget: Duration = .seconds(15)
        public var firstDelay: Duration = .milliseconds(50)
        public var maximumDelay: Duration = .seconds(1)
        public init() {}
    }

    public let client: PostgresClient
    public let retryPolicy: RetryPolicy
    /// The longest a request waits for a connection before it is told the database is busy
    /// (a transient failure: 503). PostgresClient's own queue is unbounded.
    public let leaseTimeout: Duration
    private let inUse = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    public init(client: PostgresClient, retryPolicy: RetryPolicy = RetryPolicy(), leaseTimeout: Duration = .seconds(5)) {
        self.client = client
        self.retryPolicy = retryPolicy
        self.leaseTimeout = leaseTimeout
    }

    public convenience init(settings: DatabaseSettings, logger: Logger) {
        self.init(client: PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger))
    }

    public var connectionsInUse: Int { inUse.load(ordering: .relaxed) }
    public var requestsWaiting: Int { waiting.load(ordering: .relaxed) }

    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        waiting.wrappingAdd(1, ordering: .relaxed)
        let lease: ConnectionHandoff
        do {
            lease = try await ConnectionHandoff.lease(from: client, within: leaseTimeout)
        } catch {
            waiting.wrappingSubtract(1, ordering: .relaxed)
            throw error
        }
        waiting.wrappingSubtract(1, ordering: .relaxed)
        inUse.wrappingAdd(1, ordering: .relaxed)
        defer {
            inUse.wrappingSubtract(1, ordering: .relaxed)
            lease.release()
        }
        return try await body(lease.connection)
    }

    /// Runs `work`, and again after a transient failure, until the retry budget is spent.
    /// Only for work that may safely happen twice: reads, and writes whose repetition is harmless.
    public func retrying<T>(logger: Logger, _ work: () async throws -> T) async throws -> T {
        try await retrying(logger: logger, only: { true }, work)
    }

    /// As above, retrying only while `only()` says a retry is still safe.
    func retrying<T>(logger: Logger, only isSafe: () -> Bool, _ work: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + retryPolicy.budget
        var delay = retryPolicy.firstDelay
        while true {
            do {
                return try await work()
            } catch where error.isTransientDatabaseFailure && isSafe() && ContinuousClock.now + delay < deadline {
                logger.warning("database unavailable; retrying", metadata: ["error": "\(String(reflecting: error))", "delay": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, retryPolicy.maximumDelay)
            }
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// With `idempotent`, a transient failure runs the whole transaction again.
    public func withTransaction<T>(logger: Logger, idempotent: Bool = false, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard idempotent else { return try await transaction(logger: logger, body) }
        return try await retrying(logger: logger) { try await transaction(logger: logger, body) }
    }

    /// Until BEGIN has gone through nothing was sent, so a transient failure up to there (no
    /// connection to be had, a connection dying as it opens) is retried even for work that must
    /// not run twice.
    private func transaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var began = false
        return try await retrying(logger: logger, only: { !began }) {
            try await withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                began = true
                do {
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Runs one statement and returns all its rows. Reads (and writes that may happen twice)
    /// pass `idempotent: true` and ride out a database restart.
    @discardableResult
    public func query(_ query: PostgresQuery, idempotent: Bool, logger: Logger) async throws -> [PostgresRow] {
        guard idempotent else { return try await run(query, logger: logger) }
        return try await retrying(logger: logger) { try await run(query, logger: logger) }
    }

    /// A read on a hot path as a prepared statement: parsed and planned once per connection, not
    /// on every request. Retried like any read.
    public func read<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws -> [Statement.Row] {
        try await retrying(logger: logger) {
            try await withConnection { connection in
                var rows: [Statement.Row] = []
                for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
                return rows
            }
        }
    }

    private func run(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await connection.query(query, logger: logger).collect()
        }
    }
}
