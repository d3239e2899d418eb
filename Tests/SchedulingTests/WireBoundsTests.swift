import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing

/// Numbers and times from the wire are bounded before they reach arithmetic or the database: a
/// request that once trapped the process answers a problem.
@Suite struct WireBoundsTests {
    @Test(arguments: ["9999999999999999", "-9999999999999999", "253402300800000", String(Int64.max)])
    func aCursorFarOutOfTimeIsAProblemNotACrash(millis: String) async throws {
        let app = try await TestApp.make()
        try await app.addUser("pupil")
        try await app.test { client async throws in
            let token = try await client.token("pupil")
            let response = try await client.json(.get, "/api/v1/timetable?cursor=\(millis)_\(UUID().lowercased)", token: token)
            #expect(response.status == .unprocessableContent)
            #expect(try response.problem().errors?.map(\.field) == ["cursor"])
            // The service is still there.
            #expect(try await client.json(.get, "/api/v1/timetable", token: token).status == .ok)
        }
    }

    @Test func timesOutsideYearsOneTo9999AreNotTimes() {
        #expect(RFC3339.date(millisecondsSince1970: 253_402_300_800_000) == nil)
        #expect(RFC3339.date(millisecondsSince1970: 253_402_300_799_000) != nil)
        #expect(RFC3339.date(millisecondsSince1970: 0) == Date(timeIntervalSince1970: 0))
    }

    /// Open routes ignore an `Authorization` header: a client holding an expired access token
    /// can still sign in, refresh, activate, sign out and read its calendar.
    @Test func aStaleAccessTokenDoesNotSpoilTheOpenRoutes() async throws {
        let app = try await TestApp.make()
        let id = try await app.addUser("teach", role: .teacher)
        let stale = try await TestKeys.accessToken(user: id, role: .teacher, lifetime: -60)
        try await app.test { client async throws in
            let login = try await client.json(.post, "/api/v1/auth/login", body: #"{"username":"teach","password":"\#(TestApp.password)"}"#, token: stale)
            #expect(login.status == .ok)
            let pair = try login.decode(TokenPairBody.self)
            let refreshed = try await client.json(.post, "/api/v1/auth/refresh", body: #"{"refresh_token":"\#(pair.refresh_token)"}"#, token: stale)
            #expect(refreshed.status == .ok)
            let next = try refreshed.decode(TokenPairBody.self)
            let activate = try await client.json(
                .post, "/api/v1/auth/activate", body: #"{"username":"nobody","activation_code":"AAAAAAAAAA","new_password":"long enough pass"}"#, token: stale
            )
            // Refused for its own reason (no such code), not for the header.
            let detail = try activate.problem().detail
            #expect(!detail.contains("access token"), "\(detail)")
            struct Me: Decodable { var calendar_url: String }
            let me = try await client.json(.get, "/api/v1/me", token: next.token).decode(Me.self)
            let feedPath = try #require(URLComponents(string: me.calendar_url)?.path)
            #expect(try await client.json(.get, feedPath, token: stale).status == .ok)
            #expect(try await client.json(.post, "/api/v1/auth/logout", body: #"{"refresh_token":"\#(next.refresh_token)"}"#, token: stale).status == .noContent)
        }
    }
}
