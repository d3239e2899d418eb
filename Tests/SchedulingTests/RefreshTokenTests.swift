import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceKit
import TestSupport
import Testing

@Suite struct RefreshTokenTests {
    func refresh(_ client: any TestClientProtocol, _ token: String) async throws -> TestResponse {
        try await client.json(.post, "/api/v1/auth/refresh", body: #"{"refresh_token":"\#(token)"}"#)
    }

    @Test func refreshRotatesThePair() async throws {
        let app = try await TestApp.make()
        try await app.addUser("rotating")
        try await app.test { client async throws in
            let first = try await client.login("rotating").decode(TokenPairBody.self)
            let second = try await refresh(client, first.refresh_token)
            #expect(second.status == .ok)
            let pair = try second.decode(TokenPairBody.self)
            #expect(pair.refresh_token != first.refresh_token)
            #expect(try await client.json(.get, "/api/v1/me", token: pair.token).status == .ok)
            // The spent token no longer works; the new one does.
            #expect(try await refresh(client, first.refresh_token).status == .unauthorized)
            #expect(try await refresh(client, pair.refresh_token).status == .ok)
        }
    }

    @Test func refreshTokensAreStoredOnlyAsHashes() async throws {
        let app = try await TestApp.make()
        try await app.addUser("hashed")
        let pair = try await app.test { client in try await client.login("hashed").decode(TokenPairBody.self) }
        let plain = try await app.scalar(
            "SELECT count(*) FROM scheduling.refresh_tokens WHERE encode(token_hash, 'escape') LIKE '%' || \(pair.refresh_token) || '%'",
            as: Int.self
        )
        #expect(plain == 0)
        let stored = try await app.scalar("SELECT count(*) FROM scheduling.refresh_tokens", as: Int.self)
        #expect(stored == 1)
    }

    @Test func ofConcurrentRefreshesOfOneTokenExactlyOneWins() async throws {
        let app = try await TestApp.make()
        try await app.addUser("two.tabs")
        try await app.testLive { client async throws in
            let pair = try await client.login("two.tabs").decode(TokenPairBody.self)
            let answers = try await ConcurrentRequests(client).post("/api/v1/auth/refresh", count: 12) { _ in
                #"{"refresh_token":"\#(pair.refresh_token)"}"#
            }
            #expect(answers.filter { $0.status == 200 }.count == 1)
            #expect(answers.filter { $0.status == 401 }.count == 11)
        }
        // The losers were concurrent duplicates, not theft: the family lives on.
        let revoked = try await app.scalar("SELECT count(*) FROM scheduling.login_families WHERE revoked_at IS NOT NULL", as: Int.self)
        #expect(revoked == 0)
    }

    @Test func reusingASpentTokenRevokesTheWholeFamily() async throws {
        let app = try await TestApp.make { $0.refreshReuseGrace = 0 }
        try await app.addUser("victim")
        try await app.test { client async throws in
            let stolen = try await client.login("victim").decode(TokenPairBody.self)
            let legit = try await refresh(client, stolen.refresh_token).decode(TokenPairBody.self)
            try await Task.sleep(for: .milliseconds(20))
            // The thief presents the spent token: refused, and the family ends…
            let reuse = try await refresh(client, stolen.refresh_token)
            #expect(reuse.status == .unauthorized)
            #expect(try reuse.problem().detail.contains("already used"))
            // …so the legitimate holder's newer token is dead too.
            #expect(try await refresh(client, legit.refresh_token).status == .unauthorized)
            // Another sign-in of the same user is a separate family and unaffected.
            let other = try await client.login("victim").decode(TokenPairBody.self)
            #expect(try await refresh(client, other.refresh_token).status == .ok)
        }
    }

    @Test func logoutEndsTheFamily() async throws {
        let app = try await TestApp.make()
        try await app.addUser("leaving")
        try await app.test { client async throws in
            let pair = try await client.login("leaving").decode(TokenPairBody.self)
            let logout = try await client.json(.post, "/api/v1/auth/logout", body: #"{"refresh_token":"\#(pair.refresh_token)"}"#)
            #expect(logout.status == .noContent)
            let after = try await refresh(client, pair.refresh_token)
            #expect(after.status == .unauthorized)
            #expect(try after.problem().detail.contains("ended"))
            // Logging out twice is harmless.
            #expect(try await client.json(.post, "/api/v1/auth/logout", body: #"{"refresh_token":"\#(pair.refresh_token)"}"#).status == .noContent)
        }
    }

    @Test func unknownRefreshTokensAre401() async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            let response = try await refresh(client, "made-up-token")
            #expect(response.status == .unauthorized)
            #expect(try response.problem().detail.contains("not known"))
        }
    }
}
