import Hummingbird
import PostgresNIO
import Store

/// `/health` (the process answers) and `/ready` (it can reach its database; it says whether its
/// list of deactivated users is current, but a stale list does not make it unready: the service
/// keeps serving with the last list, and tokens still expire).
public struct HealthRoutes: Sendable {
    let service: String
    let database: Database
    let deactivatedUsers: DeactivatedUsers
    let notReadyBecause: @Sendable () -> String?

    public init(service: String, database: Database, deactivatedUsers: DeactivatedUsers, notReadyBecause: @escaping @Sendable () -> String? = { nil }) {
        self.service = service
        self.database = database
        self.deactivatedUsers = deactivatedUsers
        self.notReadyBecause = notReadyBecause
    }

    struct Status: ResponseEncodable {
        var status: String
        var service: String
        var deactivated_users: String?
    }

    /// `/health` says the same each time: encoded once.
    static func healthBody(_ service: String) -> ByteBuffer {
        ByteBuffer(string: #"{"service":"\#(service)","status":"ok"}"#)
    }

    public func register(on routes: RouteTable) {
        let health = Self.healthBody(service)
        routes.get("/health", for: .anyone) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: health))
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
            if let reason = notReadyBecause() {
                throw Problem(.serviceUnavailable, detail: reason, headers: [.retryAfter: "1"])
            }
            return Status(status: "ready", service: service, deactivated_users: deactivatedUsers.readiness())
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
