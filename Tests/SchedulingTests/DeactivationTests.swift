import Foundation
import Hummingbird
import HummingbirdTesting
import InternalProtocol
import Logging
import ServiceKit
import TestSupport
import Testing

/// A deactivated user's access token, valid for hours yet, stops working everywhere within
/// seconds, and no request reads the database to learn it.
@Suite struct DeactivationTests {
    /// A deactivated administrator could go on creating users for up to 12 h.
    @Test func aDeactivatedAdminsTokenStopsWorkingWithinFiveSeconds() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let secondID = try await app.addUser("second", role: .admin)
        try await app.testLive { client async throws in
            let root = try await client.token("root")
            let second = try await client.token("second")
            let made = try await client.json(.post, "/api/v1/users", body: #"{"username":"made.one","display_name":"M","role":"teacher","password":"long enough"}"#, token: second)
            #expect(made.status == .created)
            #expect(try await client.json(.post, "/api/v1/users/\(secondID)/deactivate", token: root).status == .ok)
            let start = ContinuousClock.now
            var refused: TestResponse?
            var attempts = 0
            while ContinuousClock.now - start < .seconds(6) {
                attempts += 1
                let attempt = try await client.json(
                    .post, "/api/v1/users", body: #"{"username":"late.\#(attempts)","display_name":"M","role":"teacher","password":"long enough"}"#, token: second)
                if attempt.status == .unauthorized { refused = attempt; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let elapsed = ContinuousClock.now - start
            let answer = try #require(refused, "the token still worked after 6 s")
            #expect(elapsed < .seconds(5), "refused after \(elapsed)")
            #expect(try answer.problem().detail.contains("deactivated"))
            #expect(try await client.json(.get, "/api/v1/me", token: second).status == .unauthorized)
            #expect(try await client.json(.get, "/api/v1/me", token: root).status == .ok, "others are untouched")
        }
    }

    /// Another service learns of it from scheduling's internal endpoint; when scheduling is
    /// unreachable it keeps the list it has (the tokens still expire) and says the list is stale.
    @Test func anotherServicePullsTheListAndKeepsItWhenSchedulingIsDown() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let pupil = try await app.addUser("pupil")
        try await app.testLive { client async throws in
            let root = try await client.token("root")
            var settings = TestKeys.settings(for: .attendance)
            settings.peers[.scheduling] = URL(string: "http://127.0.0.1:\(client.port!)")!
            let list = DeactivatedUsers()
            let logger = Logger(label: "test.deactivations")
            let refresher = DeactivatedUsersRefresher(list: list, source: SchedulingClient(settings: settings), logger: logger)
            await refresher.refresh()
            #expect(!list.contains(pupil) && !list.isStale())
            #expect(try await client.json(.post, "/api/v1/users/\(pupil)/deactivate", token: root).status == .ok)
            await refresher.refresh()
            #expect(list.contains(pupil))

            settings.peers[.scheduling] = URL(string: "http://127.0.0.1:1")!
            let cutOff = DeactivatedUsersRefresher(list: list, source: SchedulingClient(settings: settings), logger: logger)
            await cutOff.refresh()
            #expect(list.contains(pupil), "the last list is kept")
            #expect(list.isStale(now: Date().addingTimeInterval(DeactivatedUsers.staleAfter + 1)))
            #expect(list.readiness(now: Date().addingTimeInterval(60)).hasPrefix("stale"))
        }
    }

    @Test func readinessAndMetricsSayHowFreshTheListIs() async throws {
        let app = try await TestApp.make()
        try await app.testLive { client async throws in
            try await Task.sleep(for: .milliseconds(1500))
            struct Ready: Decodable { var status: String; var deactivated_users: String }
            let ready = try await client.json(.get, "/ready").decode(Ready.self)
            #expect(ready.deactivated_users == "current")
            let metrics = String(buffer: try await client.json(.get, "/metrics").body)
            #expect(metrics.contains("cloudclass_deactivated_users_age_seconds"))
        }
    }
}
