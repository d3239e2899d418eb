import Foundation
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import SessionTokens
import Store

/// What a beat or a leave must make lasting about one session; the journal holds these until
/// a batch writes them.
struct SessionWrite: Sendable {
    var claims: SessionClaims
    var at: Date
    /// The seconds a beat added (nil for a leave).
    var played: PlayedTime?
    var firstSecond: Int?
    var leaving: Bool
}

/// A batch's last word on one session: its beats merged (masks ORed, times widened).
struct SessionRow: Sendable, Equatable {
    var lessonStartsAt: Date
    var lesson: UUID
    var pupil: UUID
    var session: UUID
    var lessonEndsAt: Date
    var played: PlayedTime
    var firstBeatAt: Date?
    var lastBeatAt: Date?
    var beats: Int
    var firstPlayedSecond: Int?
    var leftAt: Date?

    /// One row per session, whatever the number of its writes in the batch (an upsert may not
    /// touch a row twice in one statement).
    static func merging(_ writes: [SessionWrite]) -> [SessionRow] {
        var rows: [UUID: SessionRow] = [:]
        for write in writes {
            let claims = write.claims
            var row = rows[claims.session] ?? SessionRow(
                lessonStartsAt: claims.lessonStartsAt, lesson: claims.lesson, pupil: claims.pupil, session: claims.session,
                lessonEndsAt: claims.lessonEndsAt, played: PlayedTime(minutes: []), beats: 0
            )
            if write.leaving {
                row.leftAt = max(row.leftAt ?? write.at, write.at)
            } else {
                row.beats += 1
                row.firstBeatAt = min(row.firstBeatAt ?? write.at, write.at)
                row.lastBeatAt = max(row.lastBeatAt ?? write.at, write.at)
                if let played = write.played { row.played.formUnion(played) }
                if let second = write.firstSecond { row.firstPlayedSecond = min(row.firstPlayedSecond ?? second, second) }
            }
            rows[claims.session] = row
        }
        return Array(rows.values)
    }

    /// `{m0,m1,…}` without the trailing zero minutes (ORing treats what is missing as zero).
    var playedLiteral: String {
        let masks = played.minutes
        let used = (masks.lastIndex { $0 != 0 } ?? -1) + 1
        return "{" + masks.prefix(used).map { String(Int64(bitPattern: $0)) }.joined(separator: ",") + "}"
    }
}

/// The sessions' lasting half (Migrations/attendance/0001).
struct SessionStore: Sendable {
    let database: Database

    /// A batch of writes as one statement: every session's row created or merged into.
    func apply(_ writes: [SessionWrite], logger: Logger) async throws {
        let rows = SessionRow.merging(writes)
        guard !rows.isEmpty else { return }
        // Arrays of PostgreSQL cannot carry a Swift nil here: NaN and -1 stand for "none".
        func epoch(_ date: Date?) -> Double { date?.timeIntervalSince1970 ?? .nan }
        // Repeating the statement is harmless (ORs, least/greatest) except for the beat count.
        try await database.query(
            """
            INSERT INTO attendance.sessions AS s
                (lesson_starts_at, lesson_id, pupil_id, session_id, lesson_ends_at, played, first_beat_at, last_beat_at, beats,
                 first_played_second, left_at)
            SELECT starts, lesson, pupil, session, ends, played::bigint[], to_timestamp(nullif(first_beat, 'NaN')),
                   to_timestamp(nullif(last_beat, 'NaN')), beats, nullif(first_second, -1), to_timestamp(nullif(left_at, 'NaN'))
            FROM unnest(\(rows.map(\.lessonStartsAt))::timestamptz[], \(rows.map(\.lesson))::uuid[], \(rows.map(\.pupil))::uuid[],
                        \(rows.map(\.session))::uuid[], \(rows.map(\.lessonEndsAt))::timestamptz[], \(rows.map(\.playedLiteral))::text[],
                        \(rows.map { epoch($0.firstBeatAt) })::float8[], \(rows.map { epoch($0.lastBeatAt) })::float8[],
                        \(rows.map(\.beats))::int[], \(rows.map { $0.firstPlayedSecond ?? -1 })::int[], \(rows.map { epoch($0.leftAt) })::float8[])
                 AS t(starts, lesson, pupil, session, ends, played, first_beat, last_beat, beats, first_second, left_at)
            ON CONFLICT (lesson_starts_at, lesson_id, pupil_id) DO UPDATE SET
                played = attendance.or_minutes(s.played, excluded.played),
                first_beat_at = least(s.first_beat_at, excluded.first_beat_at),
                last_beat_at = greatest(s.last_beat_at, excluded.last_beat_at),
                beats = s.beats + excluded.beats,
                first_played_second = least(s.first_played_second, excluded.first_played_second),
                left_at = greatest(s.left_at, excluded.left_at)
            """,
            idempotent: false,
            logger: logger
        )
    }
}

extension SessionStore {
    /// Follows broadcast's `session.joined`: one more join, and the first join's time; the row
    /// is made here when no beat made it yet (the inbox applies each message once).
    static func join(_ envelope: MessageEnvelope, on connection: PostgresConnection, logger: Logger) async throws {
        let joined = try envelope.decode(SessionJoined.self)
        guard joined.sessionID == SessionToken.sessionID(lesson: joined.lessonID, pupil: joined.pupilID), joined.lessonEndsAt > joined.lessonStartsAt else {
            throw Problem.invalid(field: "session_id", "is not the session of this lesson and pupil, or the lesson's times are reversed")
        }
        try await connection.query(
            """
            INSERT INTO attendance.sessions AS s (lesson_starts_at, lesson_id, pupil_id, session_id, lesson_ends_at, joins, first_joined_at)
            VALUES (\(joined.lessonStartsAt), \(joined.lessonID), \(joined.pupilID), \(joined.sessionID), \(joined.lessonEndsAt), 1, \(joined.joinedAt))
            ON CONFLICT (lesson_starts_at, lesson_id, pupil_id) DO UPDATE SET
                joins = s.joins + 1, first_joined_at = least(s.first_joined_at, excluded.first_joined_at)
            """,
            logger: logger
        )
    }

    /// Last month, this month and the next two as partitions of their own.
    func ensureMonths(around now: Date, logger: Logger) async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for offset in -1...2 {
            guard let day = calendar.date(byAdding: .month, value: offset, to: now) else { continue }
            try await database.query("SELECT attendance.ensure_month(\(day)::date)", idempotent: true, logger: logger)
        }
    }

    func recentLeaves(since: Date, logger: Logger) async throws -> [(session: UUID, leftAt: Date, lessonEndsAt: Date)] {
        try await database.query(
            "SELECT session_id, left_at, lesson_ends_at FROM attendance.sessions WHERE left_at > \(since) AND lesson_starts_at > \(since) - interval '1 day'",
            idempotent: true,
            logger: logger
        ).map { row in
            let (session, leftAt, endsAt) = try row.decode((UUID, Date, Date).self)
            return (session, leftAt, endsAt)
        }
    }
}
