import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

extension TestClientProtocol {
    @discardableResult
    public func json(
        _ method: HTTPRequest.Method,
        _ uri: String,
        body: String? = nil,
        token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if body != nil { headers[.contentType] = "application/json" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await Self.answered("\(method) \(uri)") { [self, headers] in
            try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        }
    }

    /// HummingbirdTesting's live client times a request out but then waits for it anyway (the
    /// wait for the response cannot be cancelled): a request its server never answers held a
    /// test forever. Here the test gets an error naming the request, and the request is left.
    static func answered<T: Sendable>(
        _ request: String, within limit: Duration = .seconds(30), _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let waiter = Mutex<CheckedContinuation<T, any Error>?>(nil)
        let tasks = Mutex<[Task<Void, Never>]>([])
        let settle: @Sendable (Result<T, any Error>) -> Void = { outcome in
            waiter.withLock { $0.take() }?.resume(with: outcome)
            for task in tasks.withLock({ $0 }) { task.cancel() }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter.withLock { $0 = continuation }
                let running = Task {
                    do { settle(.success(try await work())) } catch { settle(.failure(error)) }
                }
                let timer = Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    settle(.failure(TestFailure("no answer within \(limit) to \(request)")))
                }
                tasks.withLock { $0 = [running, timer] }
            }
        } onCancel: {
            for task in tasks.withLock({ $0 }) { task.cancel() }
        }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct ProblemBody: Decodable {
    public struct FieldError: Decodable, Equatable {
        public var row: Int?
        public var field: String
        public var message: String

        public init(row: Int? = nil, field: String, message: String) {
            self.row = row
            self.field = field
            self.message = message
        }
    }
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var errors: [FieldError]?
}

extension TestResponse {
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The problem document, after checking the response is one.
    public func problem() throws -> ProblemBody {
        guard headers[.contentType] == "application/problem+json" else {
            throw TestFailure("expected application/problem+json, got \(headers[.contentType] ?? "none"): \(String(buffer: body))")
        }
        return try decode(ProblemBody.self)
    }
}

/// Real concurrent HTTP requests to a live test server: HummingbirdTesting's live client sends
/// its requests one after another over one connection. (AsyncHTTPClient rather than URLSession,
/// whose Linux implementation has hung this suite under load.)
public struct ConcurrentRequests: Sendable {
    public let port: Int

    public init(_ client: any TestClientProtocol) throws {
        guard let port = client.port else { throw TestFailure("needs a live server") }
        self.port = port
    }

    public init(port: Int) {
        self.port = port
    }

    /// One request over a connection of its own, so a test can run it alongside others.
    public func send(_ method: HTTPRequest.Method, _ path: String, token: String, body: String? = nil) async throws -> (status: Int, body: Data) {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = .init(rawValue: method.rawValue)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await http.execute(request, timeout: .seconds(60))
            let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
            try await http.shutdown()
            return (Int(response.status.code), data)
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Sends `count` POSTs of `body(i)` to `path` at once; returns each status and Retry-After.
    public func post(_ path: String, count: Int, body: @escaping @Sendable (Int) -> String) async throws -> [(status: Int, retryAfter: String?)] {
        try await post(path, count: count, headers: { _ in [:] }, body: body).map { ($0.status, $0.retryAfter) }
    }

    /// Sends `count` POSTs at once, each over its own connection, with per-request headers;
    /// returns each status, Retry-After and body.
    public func post(
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
