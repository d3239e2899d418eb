import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import PostgresNIO
import ServiceKit
import Store

/// The keys every test service shares: one signing key (its public half in every service's
/// settings) and one service token, so a token made here is good on any service under test.
public enum TestKeys {
    public static let signingKeyPEM = AccessTokenKeys.newSigningKeyPEM()
    public static let publicKeyPEM = try! AccessTokenKeys.publicKeyPEM(ofSigningKey: signingKeyPEM)
    public static let serviceToken = "test-service-token-0123456789abcdef"

    /// The settings of `service` as tests run it: any free port, the test keys.
    public static func settings(for service: ServiceName) -> ServiceSettings {
        ServiceSettings(service: service, port: 0, serviceToken: serviceToken, accessTokenPublicKeyPEM: publicKeyPEM)
    }

    /// An access token for `user`, as the scheduling service would sign it (for services that
    /// have no sign-in of their own).
    public static func accessToken(user: UUID = UUID(), role: Role, lifetime: TimeInterval = 600) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: try ES256PrivateKey(pem: signingKeyPEM), kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
        let claims = AccessTokenClaims(userID: user, role: role, issuedAt: Date(), lifetime: lifetime)
        return try await keys.sign(claims, kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
    }
}

/// A service in-process on a database of its own in the test cluster (migrated from the
/// template), built the way `serve` builds it. Tests talk to it through HummingbirdTesting's
/// client (`test`: in memory; `testLive`: a real port) and set rows up with `execute`.
public struct ServiceHarness<Service: CloudClassService>: Sendable {
    public let service: Service
    /// The database as the cluster's superuser (for setting rows up and reading them back).
    public let database: DatabaseSettings

    /// - Parameter make: builds the service on a pool connected as the service's own role.
    public static func make(
        _ name: ServiceName,
        on postgres: TestPostgres = .shared,
        _ make: (ServiceSettings, Database) async throws -> Service
    ) async throws -> ServiceHarness {
        let database = try await postgres.freshDatabase()
        let pool = Database(settings: TestPostgres.asService(name.rawValue, database), logger: Logger(label: "test.db"))
        return ServiceHarness(service: try await make(TestKeys.settings(for: name), pool), database: database)
    }

    public init(service: Service, database: DatabaseSettings) {
        self.service = service
        self.database = database
    }

    /// Runs `body` against the router in memory (no socket); background services run too.
    public func test<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await service.buildApplication(logger: Logger(label: "test.\(service.settings.service.rawValue)")).test(.router, body)
    }

    /// Runs `body` against a live server on a localhost port, for concurrent requests.
    public func testLive<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await service.buildApplication(logger: Logger(label: "test.\(service.settings.service.rawValue)")).test(.live, body)
    }

    /// The test cluster is shared, and one test restarts it: a test's own reads and writes ride
    /// through that (up to 15 s) as the services do.
    func riding<T>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            do {
                return try await body()
            } catch let error as PSQLError
                where ContinuousClock.now < deadline && (error.code != .server || ["57P01", "57P03"].contains(error.serverInfo?[.sqlState] ?? ""))
            {
                // Not reachable, shutting down, or starting up: anything but a real answer.
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    public func execute(_ query: PostgresQuery) async throws {
        try await riding { try await executeOnce(query) }
    }

    func executeOnce(_ query: PostgresQuery) async throws {
        try await database.withConnection(logger: Logger(label: "test.db")) { connection in
            try await connection.query(query, logger: Logger(label: "test.db"))
        }
    }

    /// The first column of every row.
    public func scalarList<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        try await riding { try await scalarListOnce(query, as: type) }
    }

    func scalarListOnce<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        try await database.withConnection(logger: Logger(label: "test.db")) { connection in
            var values: [T] = []
            for try await value in try await connection.query(query, logger: Logger(label: "test.db")).decode(T.self) { values.append(value) }
            return values
        }
    }

    /// The first column of the first row.
    public func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> T {
        try await riding { try await scalarOnce(query, as: type) }
    }

    func scalarOnce<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> T {
        try await database.withConnection(logger: Logger(label: "test.db")) { connection in
            for try await value in try await connection.query(query, logger: Logger(label: "test.db")).decode(T.self) {
                return value
            }
            throw TestFailure("query returned no row")
        }
    }
}
