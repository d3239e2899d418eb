import AsyncHTTPClient
import Foundation
import InternalProtocol
import Logging
import Platform
import Scheduling
import ServiceKit
import TestSupport
import Testing

/// The internal protocol between two processes: this test process calls a real
/// `cloudclass serve scheduling` through the typed client.
@Suite(.serialized) struct InternalProtocolTests {
    let logger = Logger(label: "test.internal")

    /// `cloudclass serve scheduling` on its own port, on a fresh database.
    struct ServedScheduling {
        let app: TestApp
        let process: ChildProcess
        let base: URL

        static func start() async throws -> ServedScheduling {
            let app = try await TestApp.make()
            let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("cloudclass").path
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw TestFailure("\(binary) is missing: build it first (swift build --build-tests)")
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("served-\(UUID())").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let keyFile = "\(folder)/signing-key.pem"
            try TestApp.signingKeyPEM.write(toFile: keyFile, atomically: true, encoding: .utf8)
            let port = TestPorts.reserve()
            let base = URL(string: "http://127.0.0.1:\(port)")!
            let environment = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "DATABASE_URL": TestPostgres.asService("scheduling", app.database).url,
                "CLOUDCLASS_SIGNING_KEY_FILE": keyFile,
                "CLOUDCLASS_SERVICE_TOKEN": TestApp.serviceToken,
                "CLOUDCLASS_SCHEDULING_URL": base.absoluteString,
                "CLOUDCLASS_BCRYPT_COST": "4",
            ]
            let process = try ChildProcess(
                name: "scheduling", arguments: [binary, "serve", "scheduling"], environment: environment,
                logFile: "\(folder)/scheduling.log", onExit: { _ in }
            )
            let served = ServedScheduling(app: app, process: process, base: base)
            try await served.waitUntilReady()
            return served
        }

        func waitUntilReady() async throws {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                guard process.isRunning else { throw TestFailure("serve exited:\n\(process.lastLogLines())") }
                if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base.absoluteString + "/ready"), timeout: .seconds(1)),
                    response.status == .ok
                {
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestFailure("serve did not get ready:\n\(process.lastLogLines())")
        }
    }

    func client(token: String = TestApp.serviceToken) -> InternalClient {
        var policy = InternalClient.Policy()
        policy.timeout = .seconds(2)
        return InternalClient(http: HTTPClient.shared, serviceToken: token, policy: policy)
    }

    @Test func aServiceReadsAUserThroughTheTypedClient() async throws {
        let served = try await ServedScheduling.start()
        defer { served.process.stop() }
        let id = try await served.app.addUser("li.ming", role: .teacher)
        let scheduling = SchedulingClient(client: client(), base: served.base)

        let user = try #require(try await scheduling.user(id, requestID: "trace-1", logger: logger))
        #expect(user == UserInfo(id: id, username: "li.ming", displayName: "Li.Ming", role: .teacher, schoolID: nil, active: true))
        #expect(try await scheduling.user(UUID(), requestID: nil, logger: logger) == nil)

        // The request id travels with the call and comes back.
        let answer = try await client().get(served.base, InternalRoutes.user(id), as: UserInfo.self, requestID: "trace-42", logger: logger)
        #expect(answer.requestID == "trace-42")
    }

    @Test func internalRoutesRefuseUserTokensAndWrongServiceTokens() async throws {
        let served = try await ServedScheduling.start()
        defer { served.process.stop() }
        let id = try await served.app.addUser("admin.user", role: .admin)

        // A real access token of an admin, issued by that process.
        var login = HTTPClientRequest(url: served.base.absoluteString + "/api/v1/auth/login")
        login.method = .POST
        login.headers.add(name: "Content-Type", value: "application/json")
        login.body = .bytes(.init(string: #"{"username":"admin.user","password":"\#(TestApp.password)"}"#))
        let loginResponse = try await HTTPClient.shared.execute(login, timeout: .seconds(5))
        let pair = try JSONDecoder().decode(TokenPairBody.self, from: Data(buffer: try await loginResponse.body.collect(upTo: 1 << 20)))

        for token in [pair.token, "wrong-service-token-0123456789"] {
            do {
                _ = try await client(token: token).get(served.base, InternalRoutes.user(id), as: UserInfo.self, requestID: nil, logger: logger)
                Issue.record("an internal route answered a caller without the service token")
            } catch InternalCallError.problem(let status, _) {
                #expect(status == 401)
            }
        }
    }

    @Test func anUnreachableServiceFailsWithinTheTimeoutAfterRetries() async throws {
        let served = try await ServedScheduling.start()
        served.process.stop()
        let started = ContinuousClock.now
        await #expect(throws: InternalCallError.self) {
            _ = try await SchedulingClient(client: client(), base: served.base).user(UUID(), requestID: nil, logger: logger)
        }
        #expect(ContinuousClock.now - started < .seconds(3))
    }
}
