import Attendance
import Foundation
import Logging
import ServiceKit
import SessionTokens
import Store
import TestSupport

/// An attendance service on a fresh database, and session tokens as broadcast would mint them.
enum AttendanceFixture {
    static let secret = "test-session-token-key-0123456789"
    static let key = SessionTokenKey(secret: secret)
    static let playbackKey = PlaybackSigningKey(secret: "test-playback-signing-key-0123")

    static func harness(
        on postgres: TestPostgres = .shared, _ configure: @Sendable (inout AttendanceConfig) -> Void = { _ in }
    ) async throws -> ServiceHarness<AttendanceService> {
        try await .make(.attendance, on: postgres) { settings, database in
            var config = AttendanceConfig(service: settings, tokenKey: key, playbackKey: playbackKey)
            // The whole suite (~170 tests) starts at once on two cores, and a service's first
            // commit also makes its partitions: seconds can pass. A test that wants the
            // service's own timeout sets it back.
            config.commitTimeout = .seconds(30)
            configure(&config)
            return AttendanceService(config: config, database: database)
        }
    }

    /// A pupil's session of a lesson that started `startedAgo` seconds ago and lasts `length`,
    /// its token issued `issuedAgo` seconds ago (or of the lesson starting at `startsAt`).
    static func session(
        lesson: UUID = UUID(), pupil: UUID = UUID(), startedAgo: TimeInterval = 600, length: TimeInterval = 2700,
        issuedAgo: TimeInterval = 300, expiresIn: TimeInterval = 3600, now: Date = Date(), startsAt: Date? = nil
    ) -> (claims: SessionClaims, token: String) {
        let startsAt = startsAt ?? Date(timeIntervalSince1970: (now.timeIntervalSince1970 - startedAgo).rounded(.down))
        let claims = SessionClaims(
            lesson: lesson, pupil: pupil, allocation: UUID(), lessonStartsAt: startsAt, lessonEndsAt: startsAt.addingTimeInterval(length),
            issuedAt: now.addingTimeInterval(-issuedAgo), expiresAt: now.addingTimeInterval(expiresIn)
        )
        return (claims, SessionToken.mint(claims, key: key))
    }

    /// A heartbeat's answer, as a player reads it.
    struct BeatAnswer: Decodable {
        struct SwitchTo: Decodable {
            var playback_url: String
            var edge: String
            var rendition: String
        }

        var heartbeat_seconds: Int
        var switch_to: SwitchTo?
        var rejoin_after_seconds: Int?
        var ended: Bool?
    }

    static func beatPath(_ claims: SessionClaims) -> String { "/api/v1/sessions/\(claims.session.lowercased)/heartbeat" }

    static func played(_ ranges: [Range<Int>]) -> String {
        #"{"played":[\#(ranges.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ","))]}"#
    }

    /// What the store holds for a session: its minutes' masks as played seconds.
    static func stored(_ harness: ServiceHarness<AttendanceService>, _ claims: SessionClaims) async throws -> PlayedTime? {
        let rows = try await harness.scalarList("SELECT played FROM attendance.sessions WHERE session_id = \(claims.session)", as: [Int64].self)
        return rows.first.map { PlayedTime(minutes: $0.map { UInt64(bitPattern: $0) }) }
    }
}
