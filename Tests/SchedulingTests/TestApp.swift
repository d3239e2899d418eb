import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Scheduling
import ServiceKit
import Store
import TestSupport

/// A scheduling service on a fresh database of the test cluster (the kit's harness), with the
/// set-up helpers its tests use.
struct TestApp {
    static let signingKeyPEM = TestKeys.signingKeyPEM
    static let password = "correct horse battery"
    static let serviceToken = TestKeys.serviceToken

    let harness: ServiceHarness<SchedulingService>
    var service: SchedulingService { harness.service }
    var database: DatabaseSettings { harness.database }

    static func make(
        on postgres: TestPostgres = .shared,
        _ configure: (inout SchedulingConfig) -> Void = { _ in }
    ) async throws -> TestApp {
        TestApp(
            harness: try await .make(.scheduling, on: postgres) { settings, database in
                var config = try SchedulingConfig(service: settings, signingKeyPEM: signingKeyPEM, bcryptCost: 4, bcryptWorkers: 2, bcryptQueueLimit: 64)
                configure(&config)
                return try await SchedulingService(config: config, database: database)
            }
        )
    }

    func test<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await harness.test(body)
    }

    func testLive<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await harness.testLive(body)
    }

    func execute(_ query: PostgresQuery) async throws {
        try await harness.execute(query)
    }

    func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> T {
        try await harness.scalar(query, as: type)
    }

    /// Adds a user directly (the user API arrives with the scheduling issue).
    @discardableResult
    func addUser(
        _ username: String, role: Role = .student, password: String? = TestApp.password, active: Bool = true,
        school: UUID? = nil, class classID: UUID? = nil
    ) async throws -> UUID {
        let id = UUID()
        let hash = try await password.asyncMap { try await service.hasher.hash($0) }
        try await execute(
            """
            INSERT INTO scheduling.users (id, username, display_name, role, password_hash, active, school_id, class_id)
            VALUES (\(id), \(username), \(username.capitalized), \(role.rawValue), \(hash), \(active), \(school), \(classID))
            """
        )
        return id
    }

    /// Adds a school directly; returns its id.
    @discardableResult
    func addSchool(_ code: String, region: String = "420000") async throws -> UUID {
        let id = UUID()
        try await execute("INSERT INTO scheduling.schools (id, name, code, region) VALUES (\(id), \(code.capitalized), \(code), \(region))")
        return id
    }

    /// Adds a class directly; returns its id.
    @discardableResult
    func addClass(_ name: String, school: UUID, grade: Int = 7) async throws -> UUID {
        let id = UUID()
        try await execute("INSERT INTO scheduling.classes (id, school_id, name, grade) VALUES (\(id), \(school), \(name), \(grade))")
        return id
    }
}

extension Optional {
    func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

extension TestClientProtocol {
    func login(_ username: String, _ password: String = TestApp.password) async throws -> TestResponse {
        try await json(.post, "/api/v1/auth/login", body: #"{"username":"\#(username)","password":"\#(password)"}"#)
    }

    /// Signs in and returns the access token.
    func token(_ username: String, _ password: String = TestApp.password) async throws -> String {
        let response = try await login(username, password)
        guard response.status == .ok else { throw TestFailure("login of \(username) answered \(response.status)") }
        return try response.decode(TokenPairBody.self).token
    }
}

struct TokenPairBody: Decodable {
    struct User: Decodable {
        var id: UUID
        var username: String
        var display_name: String
        var role: String
    }
    var token: String
    var expires_at: String
    var refresh_token: String
    var user: User
}

