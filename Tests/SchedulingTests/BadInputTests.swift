import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing

/// Every way a request can be wrong gets a clear 4xx problem, and nothing is half-written.
@Suite struct BadInputTests {
    @Test(arguments: [
        (#"{"username": "a", "password": "#, 400, nil as String?),
        (#"[1, 2, 3]"#, 400, nil),
        (#"{"username": 42, "password": "x"}"#, 400, "username"),
        (#"{"password": "x"}"#, 400, "username"),
        (#"{"username": "a", "password": null}"#, 400, "password"),
        (#"{"username": "", "password": "x"}"#, 422, "username"),
        ("", 400, nil),
    ])
    func malformedLoginBodiesAreProblems(body: String, status: Int, field: String?) async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            let response = try await client.json(.post, "/api/v1/auth/login", body: body)
            #expect(response.status.code == status)
            let problem = try response.problem()
            #expect(problem.status == status)
            #expect(!problem.detail.isEmpty)
            if let field {
                #expect(problem.errors?.map(\.field) == [field])
            }
        }
    }

    @Test func invalidSchoolFieldsAreAllNamedAndNothingIsWritten() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let token = try await client.token("root")
            let response = try await client.json(.post, "/api/v1/schools", body: #"{"name":"","code":"!","region":"hubei"}"#, token: token)
            #expect(response.status == .unprocessableContent)
            #expect(try response.problem().errors?.map(\.field) == ["name", "code", "region"])
            let unknownRegion = try await client.json(.post, "/api/v1/schools", body: #"{"name":"X","code":"xx","region":"990000"}"#, token: token)
            #expect(unknownRegion.status == .unprocessableContent)
            #expect(try unknownRegion.problem().errors?.map(\.field) == ["region"])
            let badLimit = try await client.json(.get, "/api/v1/schools?limit=0", token: token)
            #expect(try badLimit.problem().errors?.map(\.field) == ["limit"])
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.schools", as: Int.self) == 0)
    }

    @Test func unknownAndMalformedIdsAre404Problems() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let token = try await client.token("root")
            for path in ["/api/v1/schools/\(UUID())", "/api/v1/schools/not-a-uuid", "/api/v1/no-such-route"] {
                let response = try await client.json(.get, path, token: token)
                #expect(response.status == .notFound, "\(path)")
                #expect(try response.problem().status == 404, "\(path)")
            }
        }
    }

    @Test func oversizeBodiesAre413Problems() async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            let huge = #"{"username":"a","password":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let response = try await client.json(.post, "/api/v1/auth/login", body: huge)
            #expect(response.status == .contentTooLarge)
            #expect(try response.problem().status == 413)
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            let echoed = try await client.json(.get, "/health", headers: [.requestID: "trace-123"])
            #expect(echoed.headers[.requestID] == "trace-123")
            let fresh = try await client.json(.get, "/api/v1/nothing")
            #expect((fresh.headers[.requestID]?.count ?? 0) >= 16)
        }
    }

    @Test func healthAndReadinessAnswer() async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            #expect(try await client.json(.get, "/health").status == .ok)
            #expect(try await client.json(.get, "/ready").status == .ok)
        }
    }
}
