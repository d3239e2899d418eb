import Attendance
import Foundation
import HTTPTypes
import HummingbirdTesting
import ServiceKit
import SessionTokens
import TestSupport
import Testing

/// Heartbeats against a real PostgreSQL: checked by the session token alone, stored as the
/// union of what was played, answered only once stored.
@Suite struct HeartbeatTests {
    typealias Fixture = AttendanceFixture

    typealias Answer = Fixture.BeatAnswer

    @Test func beatsAreStoredAsAUnionOverResendsAndTabs() async throws {
        let harness = try await Fixture.harness()
        let (claims, token) = Fixture.session()
        let otherTab = SessionToken.mint(claims, key: Fixture.key)
        try await harness.test { client in
            let first = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<330, 330..<400]), token: token)
            #expect(first.status == .ok)
            #expect(try first.decode(Answer.self).heartbeat_seconds == 30)
            #expect(try first.decode(Answer.self).ended == nil)
            // Answered only once stored: the row is there as soon as the answer is.
            #expect(try await Fixture.stored(harness, claims)?.secondsPlayed == 100)

            // The same seconds again (an answer lost, the beat resent) count once.
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<400]), token: token).status == .ok)
            #expect(try await Fixture.stored(harness, claims)?.secondsPlayed == 100)
            // A second tab of the same session overlaps: only the new seconds are added.
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([350..<420]), token: otherTab).status == .ok)
            let played = try #require(try await Fixture.stored(harness, claims))
            #expect(played.secondsPlayed == 120)
            // Minutes 5 and 6 (seconds 300–419) are watched; nothing else is.
            #expect(played.watchedMinutes() == 2)
            #expect(try await harness.scalar("SELECT beats FROM attendance.sessions WHERE session_id = \(claims.session)", as: Int32.self) == 3)
            #expect(try await harness.scalar("SELECT first_played_second FROM attendance.sessions WHERE session_id = \(claims.session)", as: Int32.self) == 300)
            // A paused player's beat (nothing played) is answered and adds nothing.
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: #"{"played":[]}"#, token: token).status == .ok)
            #expect(try await Fixture.stored(harness, claims)?.secondsPlayed == 120)
        }
    }

    @Test func badTokensAndOtherSessionsAreRefusedAndNothingIsWritten() async throws {
        let harness = try await Fixture.harness()
        let (claims, token) = Fixture.session()
        let (other, otherToken) = Fixture.session()
        let (_, expired) = Fixture.session(issuedAgo: 4000, expiresIn: -1)
        let forged = SessionToken.mint(claims, key: SessionTokenKey(secret: "another platform's key, 32 chars"))
        let body = Fixture.played([300..<330])
        try await harness.test { client in
            for (name, bearer, status) in [
                ("no token", nil, HTTPResponse.Status.unauthorized), ("forged", forged, .unauthorized), ("expired", expired, .unauthorized),
                ("garbage", "abc", .unauthorized), ("another session's", otherToken, .notFound),
            ] as [(String, String?, HTTPResponse.Status)] {
                let response = try await client.json(.post, Fixture.beatPath(claims), body: body, token: bearer)
                #expect(response.status == status, "\(name)")
                #expect(try response.problem().status == Int(status.code))
            }
            for path in ["/api/v1/sessions/not-a-uuid/heartbeat", "/api/v1/sessions/\(UUID())/heartbeat"] {
                #expect(try await client.json(.post, path, body: body, token: token).status == .notFound)
            }
        }
        #expect(try await harness.scalar("SELECT count(*)::int8 FROM attendance.sessions", as: Int64.self) == 0)
        _ = other
    }

    @Test func claimsTheServerClockRulesOutAreRefusedWhole() async throws {
        let harness = try await Fixture.harness()
        // The lesson is at second 600; the token was issued at second 300.
        let (claims, token) = Fixture.session(startedAgo: 600, length: 2700, issuedAgo: 300)
        try await harness.test { client in
            for (ranges, field) in [
                ([300..<330, 590..<700], "played[1]"),  // the future
                ([100..<200], "played[0]"),  // before the token was issued
                ([2600..<2800], "played[0]"),  // past the lesson's end
                ([400..<400], "played[0]"),  // empty
            ] {
                let response = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played(ranges), token: token)
                #expect(response.status == .unprocessableContent, "\(ranges)")
                #expect(try response.problem().errors?.map(\.field) == [field], "\(ranges)")
            }
            for body in [#"{"played":[[1,2,3]]}"#, #"{"played":[[-5,10]]}"#] {
                #expect(try await client.json(.post, Fixture.beatPath(claims), body: body, token: token).status == .unprocessableContent, "\(body)")
            }
            for body in [#"{"played":"all"}"#, #"{"played":[[1.5,2]]}"#, #"{"playd":[]}"#, "{}", ""] {
                #expect(try await client.json(.post, Fixture.beatPath(claims), body: body, token: token).status == .badRequest, "\(body)")
            }
            let tooMany = #"{"played":[\#(Array(repeating: "[300,301]", count: 121).joined(separator: ","))]}"#
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: tooMany, token: token).status == .unprocessableContent)
        }
        #expect(try await harness.scalar("SELECT count(*)::int8 FROM attendance.sessions", as: Int64.self) == 0)
    }

    @Test func aFloodFromOneSessionIs429WithRetryAfterAndOthersBeatOn() async throws {
        let harness = try await Fixture.harness { $0.beatBurst = 3 }
        let (claims, token) = Fixture.session()
        let (other, otherToken) = Fixture.session()
        try await harness.test { client in
            for _ in 0..<3 {
                #expect(try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<301]), token: token).status == .ok)
            }
            let flooded = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<301]), token: token)
            #expect(flooded.status == .tooManyRequests)
            #expect(Int(flooded.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await client.json(.post, Fixture.beatPath(other), body: Fixture.played([300..<301]), token: otherToken).status == .ok)
        }
    }

    @Test func leavingClosesTheSessionForItsTokenAndAJoinAgainReopensIt() async throws {
        let harness = try await Fixture.harness()
        let lesson = UUID(), pupil = UUID()
        let (claims, token) = Fixture.session(lesson: lesson, pupil: pupil, issuedAgo: 300)
        try await harness.test { client in
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<330]), token: token).status == .ok)
            let leave = "/api/v1/sessions/\(claims.session.lowercased)/leave"
            #expect(try await client.json(.post, leave, token: token).status == .noContent)
            #expect(try await client.json(.post, leave, token: token).status == .noContent)
            #expect(try await harness.scalar("SELECT left_at IS NOT NULL FROM attendance.sessions WHERE session_id = \(claims.session)", as: Bool.self))
            let after = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([330..<340]), token: token)
            #expect(after.status == .gone)
            // Joining again gives a new token for the same session, and it beats.
            try await Task.sleep(for: .seconds(1.1))
            let (again, newToken) = Fixture.session(lesson: lesson, pupil: pupil, issuedAgo: 0, startsAt: claims.lessonStartsAt)
            #expect(again.session == claims.session)
            // The seconds just before "now" on the lesson's clock (the run may be slow; the bound is the issue time).
            let lessonSecond = Int(Date().timeIntervalSince(claims.lessonStartsAt)) - 1
            #expect(try await client.json(.post, Fixture.beatPath(again), body: Fixture.played([lessonSecond - 4..<lessonSecond]), token: newToken).status == .ok)
            let played = try await Fixture.stored(harness, claims)
            #expect(played?.secondsPlayed == 34, "\(String(describing: played?.minutes))")
        }
    }

    @Test func beatsAfterTheLessonAndItsGraceAreAnsweredEnded() async throws {
        let harness = try await Fixture.harness()
        // A 45-minute lesson that ended 20 minutes ago (grace: 10); the last beat arrives late.
        let (claims, token) = Fixture.session(startedAgo: 3900, length: 2700, issuedAgo: 3000)
        try await harness.test { client in
            let response = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([2640..<2700]), token: token)
            #expect(response.status == .ok)
            #expect(try response.decode(Answer.self).ended == true)
            #expect(try await Fixture.stored(harness, claims)?.watchedMinutes() == 1)
        }
    }

    @Test func aCancelledLessonsBeatsAreAnsweredEndedWithinSeconds() async throws {
        let harness = try await Fixture.harness { $0.lessonEndsRefresh = .milliseconds(100) }
        let (claims, token) = Fixture.session()
        let (other, otherToken) = Fixture.session()
        try await harness.testLive { client in
            #expect(try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([300..<330]), token: token).decode(Answer.self).ended == nil)
            // Scheduling's outbox says the lesson was cancelled (as it does when a teacher cancels a running lesson).
            let message = """
                {"messages":[{"id":"\(UUID())","kind":"lesson.changed","sender":"scheduling","created_at":"\(RFC3339.format(Date()))",
                "payload":{"lesson_id":"\(claims.lesson)","state":"cancelled","starts_at":"\(RFC3339.format(claims.lessonStartsAt))",
                "ends_at":"\(RFC3339.format(claims.lessonEndsAt))"}}]}
                """
            let receipt = try await client.json(.post, "/internal/v1/messages", body: message, token: TestKeys.serviceToken)
            #expect(receipt.status == .ok && String(buffer: receipt.body).contains(#""failed":[]"#))
            var answer = try await client.json(.post, Fixture.beatPath(claims), body: Fixture.played([330..<360]), token: token).decode(Answer.self)
            let deadline = ContinuousClock.now + .seconds(5)
            while answer.ended != true && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                answer = try await client.json(.post, Fixture.beatPath(claims), body: #"{"played":[]}"#, token: token).decode(Answer.self)
            }
            #expect(answer.ended == true)
            // What was played up to then is kept; another lesson beats on.
            #expect(try await Fixture.stored(harness, claims)?.secondsPlayed == 60)
            #expect(try await client.json(.post, Fixture.beatPath(other), body: Fixture.played([300..<330]), token: otherToken).decode(Answer.self).ended == nil)
        }
    }
}
