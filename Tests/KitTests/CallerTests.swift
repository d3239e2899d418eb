import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceKit
import TestSupport
import Testing

/// Routes fail closed for every kind of caller: the probe's handlers check nothing, so whatever
/// stops a request here is the route's declared callers, checked before the handler.
@Suite struct CallerTests {
    func accessToken(role: Role, expiresIn lifetime: TimeInterval = 600) async throws -> String {
        try await TestKeys.accessToken(role: role, lifetime: lifetime)
    }

    /// The status of each probe route for one Authorization header (nil: none).
    func statuses(_ client: some TestClientProtocol, authorization: String?) async throws -> [String: Int] {
        var answers: [String: Int] = [:]
        for path in ["/probe/open", "/probe/user", "/probe/admin", "/internal/v1/probe", "/probe/session"] {
            let headers: HTTPFields = authorization.map { [.authorization: $0] } ?? [:]
            let response = try await client.execute(uri: path, method: .get, headers: headers, body: nil)
            if response.status != .ok {
                #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
            } else {
                #expect(String(buffer: response.body).hasPrefix("reached"), "\(path)")
            }
            answers[path] = Int(response.status.code)
        }
        return answers
    }

    @Test func eachRouteLetsThroughOnlyTheCallersItDeclares() async throws {
        let probe = try await ProbeService.make()
        let teacher = try await accessToken(role: .teacher)
        let admin = try await accessToken(role: .admin)
        let expired = try await accessToken(role: .admin, expiresIn: -60)
        let session = SessionCapabilities.token("s-1", key: ProbeService.sessionKey)
        let forgedSession = SessionCapabilities.token("s-1", key: .init(size: .bits256))
        let application = try await probe.buildApplication(logger: Logger(label: "test.callers"))
        try await application.test(.router) { client in
            let open = "/probe/open", user = "/probe/user", adminOnly = "/probe/admin", service = "/internal/v1/probe", sessions = "/probe/session"
            #expect(try await statuses(client, authorization: nil) == [open: 200, user: 401, adminOnly: 401, service: 401, sessions: 401])
            #expect(try await statuses(client, authorization: "Bearer \(teacher)") == [open: 200, user: 200, adminOnly: 403, service: 401, sessions: 401])
            #expect(try await statuses(client, authorization: "Bearer \(admin)") == [open: 200, user: 200, adminOnly: 200, service: 401, sessions: 401])
            #expect(
                try await statuses(client, authorization: "Bearer \(TestKeys.serviceToken)")
                    == [open: 200, user: 401, adminOnly: 401, service: 200, sessions: 401]
            )
            #expect(try await statuses(client, authorization: "Bearer \(session)") == [open: 200, user: 401, adminOnly: 401, service: 401, sessions: 200])
            #expect(try await statuses(client, authorization: "Bearer \(forgedSession)") == [open: 200, user: 401, adminOnly: 401, service: 401, sessions: 401])
            // A stale token does not spoil an open route; it does every other.
            #expect(try await statuses(client, authorization: "Bearer \(expired)") == [open: 200, user: 401, adminOnly: 401, service: 401, sessions: 401])
            #expect(try await statuses(client, authorization: "Basic YWRtaW46eA==") == [open: 200, user: 401, adminOnly: 401, service: 401, sessions: 401])

            let reached = try await client.execute(uri: sessions, method: .get, headers: [.authorization: "Bearer \(session)"], body: nil)
            #expect(String(buffer: reached.body) == "reached session s-1")
        }
    }

    @Test func theRouteTableListsEveryRouteWithItsCallers() async throws {
        let routes = try await ProbeService.make().buildRoutes().routes
        let listed = Dictionary(routes.map { ($0.description, $0.callers) }, uniquingKeysWith: { a, _ in a })
        #expect(listed["GET /probe/open"] == "open")
        #expect(listed["GET /probe/user"] == "users")
        #expect(listed["GET /probe/admin"] == "users(admin)")
        #expect(listed["GET /internal/v1/probe"] == "services")
        #expect(listed["GET /probe/session"] == "sessions")
        #expect(listed["GET /health"] == "open" && listed["GET /ready"] == "open" && listed["GET /metrics"] == "open")
    }
}
