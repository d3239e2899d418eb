import Attendance
import Bandwidth
import Crypto
import Foundation
import HummingbirdTesting
import InternalProtocol
import ServiceKit
import SessionTokens
import TestSupport
import Testing

/// The sessions' places on the fleet, against a real bandwidth service: attendance renews the
/// leases of the sessions that beat, in bulk and in the background, releases those left, and
/// tells a player with its next beat to move (with a signed URL on the new edge) or to join again.
@Suite struct SessionPlaceTests {
    typealias Fixture = AttendanceFixture

    struct Edge: Decodable {
        var id: UUID
        var name: String
        var health: String
        var report_token: String?
    }

    typealias Answer = Fixture.BeatAnswer

    /// Two edges in Hubei's mobile pool, reporting until the test ends, and `viewers` placed on
    /// them for one lesson; runs `body` with attendance renewing every 100 ms against them.
    static func withFleet(
        viewers: Int,
        _ body: @escaping @Sendable (_ bandwidth: any TestClientProtocol, _ attendance: any TestClientProtocol, _ admin: String, _ edges: [Edge], _ placed: [Allocation])
            async throws -> Void
    ) async throws {
        let bandwidth = try await ServiceHarness<BandwidthService>.make(.bandwidth) { settings, database in BandwidthService(settings: settings, database: database) }
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await bandwidth.testLive { fleet async throws in
            while try await fleet.json(.get, "/ready").status != .ok { try await Task.sleep(for: .milliseconds(10)) }
            var edges: [Edge] = []
            for name in ["a", "b"] {
                let body = #"{"name":"\#(name)","base_url":"http://127.0.0.1:9001/\#(name)","network":"mobile","region":"420000","capacity_mbps":100}"#
                edges.append(try await fleet.json(.post, "/api/v1/edges", body: body, token: admin).decode(Edge.self))
            }
            let reporting = Task { [edges] in
                while !Task.isCancelled {
                    for edge in edges {
                        _ = try? await fleet.json(.post, "/api/v1/edges/\(edge.id)/report", body: #"{"egress_mbps":0,"viewers":0,"cpu":0}"#, token: edge.report_token!)
                    }
                    try? await Task.sleep(for: .milliseconds(300))
                }
            }
            defer { reporting.cancel() }
            for edge in edges {
                while try await fleet.json(.get, "/api/v1/edges/\(edge.id)", token: admin).decode(Edge.self).health != "up" {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let lesson = UUID()
            var placed: [Allocation] = []
            for _ in 0..<viewers {
                let request = #"{"lesson_id":"\#(lesson)","network":"mobile","region":"420000"}"#
                let answer = try await fleet.json(.post, InternalRoutes.allocations, body: request, token: TestKeys.serviceToken).decode(AllocationAnswer.self)
                placed.append(try #require(answer.placed))
            }
            let port = fleet.port!
            let attendance = try await Fixture.harness {
                $0.service.peers[.bandwidth] = URL(string: "http://127.0.0.1:\(port)")!
                $0.leaseRenewalInterval = .milliseconds(100)
                $0.beatBurst = 1000
                $0.moveRepeat = .seconds(2)
            }
            try await attendance.testLive { [edges, placed] client in try await body(fleet, client, admin, edges, placed) }
        }
    }

    /// A token for the viewer holding `allocation`, as broadcast mints it at join.
    static func token(for allocation: Allocation, pupil: UUID = UUID(), issuedAgo: TimeInterval = 300) -> (claims: SessionClaims, token: String) {
        let now = Date()
        let startsAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 600).rounded(.down))
        let claims = SessionClaims(
            lesson: allocation.lessonID, pupil: pupil, allocation: allocation.allocationID, lessonStartsAt: startsAt,
            lessonEndsAt: startsAt.addingTimeInterval(2700), issuedAt: now.addingTimeInterval(-issuedAgo), expiresAt: now.addingTimeInterval(3600)
        )
        return (claims, SessionToken.mint(claims, key: Fixture.key))
    }

    static func beat(_ client: any TestClientProtocol, _ session: (claims: SessionClaims, token: String)) async throws -> Answer {
        let response = try await client.json(.post, Fixture.beatPath(session.claims), body: #"{"played":[]}"#, token: session.token)
        guard response.status == .ok else { throw TestFailure("beat: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(Answer.self)
    }

    /// Beats until `until` holds of the answer (at most 5 s; renewals run every 100 ms).
    static func beat(_ client: any TestClientProtocol, _ session: (claims: SessionClaims, token: String), until: (Answer) -> Bool) async throws -> Answer {
        let deadline = ContinuousClock.now + .seconds(5)
        var answer = try await beat(client, session)
        while !until(answer) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            answer = try await beat(client, session)
        }
        return answer
    }

    static func renewal(_ fleet: any TestClientProtocol, _ id: UUID) async throws -> Renewal {
        let body = #"{"allocation_ids":["\#(id)"]}"#
        return try #require(try await fleet.json(.post, InternalRoutes.renewals, body: body, token: TestKeys.serviceToken).decode(Renewals.self).renewals.first)
    }

    @Test func aDrainedEdgesViewersAreToldWhereToPlayWithTheirNextBeat() async throws {
        try await Self.withFleet(viewers: 6) { fleet, client, admin, edges, placed in
            let (a, b) = (edges[0], edges[1])
            let sessions = placed.map { (allocation: $0, session: Self.token(for: $0)) }
            #expect(sessions.contains { $0.allocation.edgeID == a.id } && sessions.contains { $0.allocation.edgeID == b.id }, "the lesson spreads over both edges")
            for viewer in sessions { #expect(try await Self.beat(client, viewer.session).switch_to == nil) }

            #expect(try await fleet.json(.post, "/api/v1/edges/\(a.id)/drain", body: #"{"reason":"maintenance"}"#, token: admin).status == .ok)
            for viewer in sessions where viewer.allocation.edgeID == a.id {
                let answer = try await Self.beat(client, viewer.session) { $0.switch_to != nil }
                let target = try #require(answer.switch_to, "a viewer of the drained edge is told to move")
                #expect(target.edge == "b" && target.rendition == viewer.allocation.rendition)
                // Signed for the edge's secure_link: MD5 of "<expires>/<session>/<stream> <secret>", base64url.
                let url = try #require(URL(string: target.playback_url))
                let parts = url.path.split(separator: "/").map(String.init)
                let session = viewer.session.claims.session.uuidString.lowercased()
                let stream = "\(viewer.allocation.lessonID.uuidString.lowercased())_\(viewer.allocation.rendition)"
                #expect(target.playback_url.hasPrefix("http://127.0.0.1:9001/b/s/") && parts.suffix(6) == ["s", parts[parts.count - 5], parts[parts.count - 4], session, stream, "index.m3u8"])
                let expires = try #require(Int(parts[parts.count - 4]))
                #expect(Double(expires) >= viewer.session.claims.lessonEndsAt.timeIntervalSince1970 + 3600, "the URL outlasts the lesson")
                let digest = Insecure.MD5.hash(data: Data("\(expires)/\(session)/\(stream) test-playback-signing-key-0123".utf8))
                let expected = Data(digest).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
                #expect(parts[parts.count - 5] == expected)
                // Told again with the next beat (the answer may have been lost).
                #expect(try await Self.beat(client, viewer.session).switch_to?.playback_url == target.playback_url)
            }
            for viewer in sessions where viewer.allocation.edgeID == b.id {
                #expect(try await Self.beat(client, viewer.session).switch_to == nil, "a viewer of a healthy edge stays")
            }
            // Once the move has been told for its window (2 s here, 90 s by default) it is no longer repeated.
            try await Task.sleep(for: .milliseconds(2200))
            for viewer in sessions where viewer.allocation.edgeID == a.id {
                #expect(try await Self.beat(client, viewer.session).switch_to == nil, "the move is told for its window only")
            }

            // Now B drains too and nowhere has room: its viewers, moved ones included, must join again.
            #expect(try await fleet.json(.post, "/api/v1/edges/\(b.id)/drain", body: #"{"reason":"maintenance"}"#, token: admin).status == .ok)
            for viewer in sessions {
                let answer = try await Self.beat(client, viewer.session) { $0.rejoin_after_seconds != nil }
                #expect(answer.rejoin_after_seconds != nil && answer.switch_to == nil)
            }
        }
    }

    @Test func leftSessionsGiveTheirPlaceBackAndExpiredPlacesMakeThePlayerRejoin() async throws {
        try await Self.withFleet(viewers: 2) { fleet, client, _, _, placed in
            let staying = Self.token(for: placed[0])
            let leaving = Self.token(for: placed[1])
            #expect(try await Self.beat(client, staying).switch_to == nil)
            #expect(try await Self.beat(client, leaving).switch_to == nil)
            #expect(try await client.json(.post, "/api/v1/sessions/\(leaving.claims.session.lowercased)/leave", token: leaving.token).status == .noContent)
            var released = try await Self.renewal(fleet, placed[1].allocationID).state
            for _ in 0..<100 where released != .unknown {
                try await Task.sleep(for: .milliseconds(50))
                released = try await Self.renewal(fleet, placed[1].allocationID).state
            }
            #expect(released == .unknown, "the left session's allocation was released")
            #expect(try await Self.renewal(fleet, placed[0].allocationID).state == .renewed)

            // An allocation bandwidth no longer knows (it lapsed while attendance was away): join again, within a beat.
            let gone = Allocation(
                allocationID: UUID(), lessonID: placed[0].lessonID, edgeID: placed[0].edgeID, edgeName: "a", baseURL: placed[0].baseURL, rendition: "720p",
                bitrateMbps: 2.5, network: "mobile", region: "420000", crossNetwork: false, crossRegion: false, downgraded: false, expiresAt: Date()
            )
            let lapsed = Self.token(for: gone)
            let answer = try await Self.beat(client, lapsed) { $0.rejoin_after_seconds != nil }
            #expect((1...30).contains(answer.rejoin_after_seconds ?? 0))
            // A new join (a later token, its own allocation) takes the place back.
            let rejoined = Self.token(for: placed[0], pupil: lapsed.claims.pupil, issuedAgo: 1)
            let after = try await Self.beat(client, rejoined)
            #expect(after.rejoin_after_seconds == nil && after.switch_to == nil)
        }
    }
}
