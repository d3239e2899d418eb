import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Platform
import ServiceKit
import Store

#if canImport(Glibc)
import Glibc
#endif

/// A service as its own process (`cloudclass serve <name>`), for tests that kill it: reaped by
/// waitpid (Foundation's Process can miss the exit of a child in a busy test process).
public struct ServedProcess: Sendable {
    /// The executable `swift build` made beside this test bundle.
    public static var executable: String? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cloudclass").path
        let candidates = [beside, FileManager.default.currentDirectoryPath + "/.build/debug/cloudclass"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What every served test process needs besides its own settings: the test keys, a small
    /// pool, quiet logs.
    public static func environment(database: DatabaseSettings, _ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging([
            "DATABASE_URL": database.url,
            "CLOUDCLASS_SERVICE_TOKEN": TestKeys.serviceToken,
            "CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY": TestKeys.publicKeyPEM,
            "CLOUDCLASS_DB_POOL": "4",
            "CLOUDCLASS_LOG_LEVEL": "warning",
        ]) { $1 }.merging(extra) { $1 }
    }

    /// A log in a folder of its own (the child tightens its log's folder to 0750, so never a
    /// shared one such as /tmp); the caller removes the folder.
    public static func privateLog(for service: ServiceName) -> (folder: URL, path: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cc-\(service.rawValue)-\(UUID().uuidString)")
        return (folder, folder.appendingPathComponent("\(service.rawValue).log").path)
    }

    public let child: ChildProcess

    public init(_ service: ServiceName, environment: [String: String], log: String) throws {
        guard let executable = Self.executable else {
            throw TestFailure("the cloudclass executable is not built beside the tests (run `swift build --build-tests` first)")
        }
        child = try ChildProcess(name: service.rawValue, arguments: [executable, "serve", service.rawValue], environment: environment, logFile: log, onExit: { _ in })
    }

    public func kill(_ signal: Int32) {
        Glibc.kill(child.pid, signal)
        while child.isRunning { usleep(10_000) }
    }
}

/// Requests to a server on a real port, each bounded in time.
public struct HTTPCaller: Sendable {
    public let http: HTTPClient
    public let base: String

    public init(http: HTTPClient = .shared, base: String) {
        self.http = http
        self.base = base
    }

    public func send(_ method: HTTPMethod, _ path: String, token: String, body: String?) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(5))
        return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// Waits (up to 30 s) for `/ready` to answer 200.
    public func ready() async -> Bool {
        for _ in 0..<600 {
            if let answer = try? await send(.GET, "/ready", token: "", body: nil), answer.status == 200 { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
