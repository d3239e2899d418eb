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

/// A scheduling service on a fresh database of the test cluster.
struct TestApp {
    static let signingKeyPEM = AccessTokenKeys.newSigningKeyPEM()
    static let password = "correct horse battery"
    static let serviceToken = "test-service-token-0123456789abcdef"

    let service: SchedulingService
    let database: DatabaseSettings

    static func make(
        on postgres: TestPostgres = .shared,
        _ configure: (inout SchedulingConfig) -> Void = { _ in }
    ) async throws -> TestApp {
        let database = try await postgres.freshDatabase()
        let settings = ServiceSettings(service: .scheduling, port: 0, serviceToken: serviceToken, accessTokenPublicKeyPEM: "")
        var config = try SchedulingConfig(service: settings, signingKeyPEM: signingKeyPEM, bcryptCost: 4, bcryptWorkers: 2, bcryptQueueLimit: 64)
        configure(&config)
        // The service connects as its own role, as in production; test set-up uses the superuser.
        let client = Database(settings: TestPostgres.asService("scheduling", database), logger: Logger(label: "test.db"))
        let service = try await SchedulingService(config: config, database: client)
        return TestApp(service: service, database: database)
    }

    /// Runs `body` against the router in memory (no socket).
    func test<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let application = try await service.buildApplication(logger: Logger(label: "test.scheduling"))
        return try await application.test(.router, body)
    }

    /// Runs `body` against a live server on a localhost port, for concurrent requests.
    func testLive<T>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let application = try await service.buildApplication(logger: Logger(label: "test.scheduling"))
        return try await application.test(.live, body)
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

    func execute(_ query: PostgresQuery) async throws {
        try await database.withConnection(logger: Logger(label: "test.db")) { connection in
            try await connection.query(query, logger: Logger(label: "test.db"))
        }
    }

    func scalar<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> T {
        try await database.withConnection(logger: Logger(label: "test.db")) { connection in
            for try await value in try await connection.query(query, logger: Logger(label: "test.db")).decode(T.self) {
                return value
            }
            fatalError("query returned no row")
        }
    }
}

extension Optional {
    func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

extension TestClientProtocol {
    @discardableResult
    func json(
        _ method: HTTPRequest.Method,
        _ uri: String,
        body: String? = nil,
        token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if body != nil { headers[.contentType] = "application/json" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

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

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
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

struct ProblemBody: Decodable {
    struct FieldError: Decodable, Equatable {
        var row: Int?
        var field: String
        var message: String
    }
    var type: String
    var title: String
    var status: Int
    var detail: String
    var errors: [FieldError]?
}

extension TestResponse {
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The problem document, after checking the response is one.
    func problem() throws -> ProblemBody {
        guard headers[.contentType] == "application/problem+json" else {
            throw TestFailure("expected application/problem+json, got \(headers[.contentType] ?? "none"): \(String(buffer: body))")
        }
        return try decode(ProblemBody.self)
    }
}

/// Real concurrent HTTP requests to a live test server: HummingbirdTesting's live client sends
/// its requests one after another over one connection. (AsyncHTTPClient rather than URLSession,
/// whose Linux implementation has hung this suite under load.)
struct ConcurrentRequests {
    let port: Int

    init(_ client: any TestClientProtocol) throws {
        guard let port = client.port else { throw TestFailure("needs a live server") }
        self.port = port
    }

    init(port: Int) {
        self.port = port
    }

    /// Sends `count` POSTs of `body(i)` to `path` at once; returns each status and Retry-After.
    func post(_ path: String, count: Int, body: @escaping @Sendable (Int) -> String) async throws -> [(status: Int, retryAfter: String?)] {
        try await post(path, count: count, headers: { _ in [:] }, body: body).map { ($0.status, $0.retryAfter) }
    }

    /// Sends `count` POSTs at once, each over its own connection, with per-request headers;
    /// returns each status, Retry-After and body.
    func post(
        _ path: String, count: Int, headers: @escaping @Sendable (Int) -> [String: String], body: @escaping @Sendable (Int) -> String
    ) async throws -> [(status: Int, retryAfter: String?, body: Data)] {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(5), concurrentHTTP1ConnectionsPerHostSoftLimit: max(count, 1))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let url = "http://127.0.0.1:\(port)\(path)"
        do {
            let results = try await withThrowingTaskGroup(of: (Int, String?, Data).self) { group in
                for index in 0..<count {
                    group.addTask {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        for (name, value) in headers(index) { request.headers.add(name: name, value: value) }
                        request.body = .bytes(ByteBuffer(string: body(index)))
                        let response = try await http.execute(request, timeout: .seconds(60))
                        let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
                        return (Int(response.status.code), response.headers.first(name: "Retry-After"), data)
                    }
                }
                return try await group.reduce(into: []) { $0.append((status: $1.0, retryAfter: $1.1, body: $1.2)) }
            }
            try await http.shutdown()
            return results
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}
