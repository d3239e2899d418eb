import Hummingbird
import PostgresNIO
import Store

/// `/health` (the process answers) and `/ready` (it can reach its database).
public struct HealthRoutes: Sendable {
    let service: String
    let database: Database

    public init(service: String, database: Database) {
        self.service = service
        self.database = database
    }

    struct Status: ResponseEncodable {
        var status: String
        var service: String
    }

    public func register(on routes: RouteTable) {
        routes.get("/health", for: .anyone) { _, _ in
            Status(status: "ok", service: service)
        }
        routes.get("/ready", for: .anyone) { _, context in
            do {
                _ = try await withThrowingTimeout(seconds: 2) {
                    try await database.query("SELECT 1", idempotent: false, logger: context.logger)
                }
            } catch {
                context.logger.warning("database not reachable", metadata: ["error": "\(error)"])
                throw Problem(.serviceUnavailable, detail: "The database is not reachable.", headers: [.retryAfter: "5"])
            }
            return Status(status: "ready", service: service)
        }
    }
}

struct TimeoutError: Error {}

/// Runs `body`, giving up after `seconds`.
public func withThrowingTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension Duration {
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
