import Foundation
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import Store

/// What one session row says, for a report.
struct SessionSummary: Sendable {
    var played: PlayedTime
    var firstBeatAt: Date?
    var lastBeatAt: Date?
    var firstPlayedSecond: Int?
    /// Joins broadcast reported, and the first one's time.
    var joins = 0
    var firstJoinedAt: Date?

    /// When the pupil first came: their first join, or their first beat when the join is not in
    /// (yet); and at least one join once they beat.
    var firstCame: Date? { [firstJoinedAt, firstBeatAt].compactMap { $0 }.min() }
    var joinsSeen: Int { max(joins, firstBeatAt == nil ? 0 : 1) }
}

/// A pupil's place at one lesson.
struct Seat: Hashable, Sendable {
    var lesson: UUID
    var pupil: UUID
}

/// A teacher's override as it stands.
struct StatusOverride: Sendable, Equatable {
    var status: AttendanceStatus
    var note: String
    var setBy: UUID
    var setAt: Date
}

/// Where a lesson's rules came from.
enum RulesSource: String, Codable, Sendable {
    case lesson, course, defaults
}

/// The lasting record's tables (Migrations/attendance/0002): kept lessons and rolls, rules and
/// overrides, read with the sessions for reports.
struct RecordStore: Sendable {
    let database: Database

    // MARK: Rolls

    /// The lesson and roll as kept when it ended, or nil when not kept (yet).
    func keptRoll(_ lesson: UUID, logger: Logger) async throws -> LessonRoll? {
        guard let info = try await keptLesson(lesson, logger: logger) else { return nil }
        let startsAt = info.startsAt
        let pupils = try await database.query(
            """
            SELECT pupil_id, display_name, class_id, class_name FROM attendance.roll
            WHERE lesson_id = \(lesson) AND lesson_starts_at = \(startsAt)
            ORDER BY class_name NULLS LAST, display_name, pupil_id
            """,
            idempotent: true, logger: logger
        ).map { row in
            let (id, name, classID, className) = try row.decode((UUID, String, UUID?, String?).self)
            return LessonRoll.Pupil(studentID: id, displayName: name, classID: classID, className: className)
        }
        return LessonRoll(lesson: info, pupils: pupils)
    }

    /// The lesson's facts as kept when it ended, or nil when not kept (yet).
    func keptLesson(_ lesson: UUID, logger: Logger) async throws -> LessonInfo? {
        let lessons = try await database.query(
            "SELECT course_id, teacher_id, title, starts_at, ends_at FROM attendance.lessons WHERE lesson_id = \(lesson)",
            idempotent: true, logger: logger
        )
        guard let row = lessons.first else { return nil }
        let (course, teacher, title, startsAt, endsAt) = try row.decode((UUID, UUID, String, Date, Date).self)
        return LessonInfo(id: lesson, courseID: course, teacherID: teacher, title: title, startsAt: startsAt, endsAt: endsAt, state: LessonInfo.scheduled)
    }

    /// Keeps these ended lessons' rolls (a roll already kept stays as it was) and, with them in
    /// one transaction, how far the walk has come.
    func keep(_ rolls: [LessonRoll], advancing cursor: EndedLessonsCursor?, logger: Logger) async throws {
        try await database.withTransaction(logger: logger, idempotent: true) { connection in
            if !rolls.isEmpty {
                let lessons = rolls.map(\.lesson)
                try await connection.query(
                    """
                    INSERT INTO attendance.lessons (lesson_id, course_id, teacher_id, title, starts_at, ends_at)
                    SELECT * FROM unnest(\(lessons.map(\.id))::uuid[], \(lessons.map(\.courseID))::uuid[], \(lessons.map(\.teacherID))::uuid[],
                                         \(lessons.map(\.title))::text[], \(lessons.map(\.startsAt))::timestamptz[], \(lessons.map(\.endsAt))::timestamptz[])
                    ON CONFLICT (lesson_id) DO NOTHING
                    """,
                    logger: logger
                )
                let seats = rolls.flatMap { roll in roll.pupils.map { (roll.lesson, $0) } }
                if !seats.isEmpty {
                    try await connection.query(
                        """
                        -- Pupils without a class travel as '' (arrays of optionals do not bind).
                        INSERT INTO attendance.roll (lesson_starts_at, lesson_id, pupil_id, display_name, class_id, class_name)
                        SELECT s, l, p, n, nullif(c, '')::uuid, nullif(k, '')
                        FROM unnest(\(seats.map(\.0.startsAt))::timestamptz[], \(seats.map(\.0.id))::uuid[], \(seats.map(\.1.studentID))::uuid[],
                                    \(seats.map(\.1.displayName))::text[], \(seats.map { $0.1.classID?.lowercased ?? "" })::text[],
                                    \(seats.map { $0.1.className ?? "" })::text[]) AS seat(s, l, p, n, c, k)
                        ON CONFLICT DO NOTHING
                        """,
                        logger: logger
                    )
                }
            }
            if let cursor {
                try await connection.query(
                    """
                    INSERT INTO attendance.roll_cursor (ended_at, lesson_id) VALUES (\(cursor.endedAt), \(cursor.lesson))
                    ON CONFLICT (only_row) DO UPDATE SET ended_at = excluded.ended_at, lesson_id = excluded.lesson_id
                    """,
                    logger: logger
                )
            }
        }
    }

    /// Follows scheduling's `lesson.changed`: a kept lesson whose times changed was extended past
    /// its end (once a lesson has started only its end can move), so it is not over; its kept copy
    /// goes and the keeper keeps it again when it ends anew (its rules and overrides stay).
    static func follow(_ envelope: MessageEnvelope, on connection: PostgresConnection, logger: Logger) async throws {
        let change = try envelope.decode(LessonChanged.self)
        // A cancelled lesson's players are told it ended (with their next beat, in any process).
        if change.state == LessonInfo.scheduled {
            try await connection.query("DELETE FROM attendance.lesson_ends WHERE lesson_id = \(change.lessonID) AND reason = 'cancelled'", logger: logger)
        } else {
            try await connection.query(
                "INSERT INTO attendance.lesson_ends (lesson_id, reason) VALUES (\(change.lessonID), 'cancelled') ON CONFLICT (lesson_id) DO NOTHING",
                logger: logger
            )
        }
        let reopened = try await connection.query(
            """
            DELETE FROM attendance.lessons WHERE lesson_id = \(change.lessonID)
              AND (\(change.state) <> 'scheduled' OR starts_at <> \(change.startsAt) OR ends_at <> \(change.endsAt))
            RETURNING starts_at
            """,
            logger: logger
        ).collect()
        guard !reopened.isEmpty else { return }
        try await connection.query("DELETE FROM attendance.roll WHERE lesson_id = \(change.lessonID)", logger: logger)
        logger.notice("kept roll reopened", metadata: ["lesson_id": "\(change.lessonID.lowercased)", "ends_at": "\(RFC3339.format(change.endsAt))"])
    }

    func rollCursor(logger: Logger) async throws -> EndedLessonsCursor? {
        let rows = try await database.query("SELECT ended_at, lesson_id FROM attendance.roll_cursor", idempotent: true, logger: logger)
        return try rows.first.map { row in
            let (endedAt, lesson) = try row.decode((Date, UUID).self)
            return EndedLessonsCursor(endedAt: endedAt, lesson: lesson)
        }
    }

    // MARK: Sessions and overrides

    /// Every session of these lessons (of these pupils only, when given), by lesson and pupil.
    func sessions(of lessons: [UUID], pupils: [UUID]? = nil, logger: Logger) async throws -> [Seat: SessionSummary] {
        guard !lessons.isEmpty else { return [:] }
        let rows = try await database.query(
            """
            SELECT lesson_id, pupil_id, played, first_beat_at, last_beat_at, first_played_second, joins, first_joined_at FROM attendance.sessions
            WHERE lesson_id = ANY(\(lessons)::uuid[]) AND (\(pupils == nil) OR pupil_id = ANY(\(pupils ?? [])::uuid[]))
            """,
            idempotent: true, logger: logger
        )
        var sessions: [Seat: SessionSummary] = [:]
        for row in rows {
            let (lesson, pupil, played, firstBeat, lastBeat, firstSecond, joins, firstJoined) = try row.decode(
                (UUID, UUID, [Int64], Date?, Date?, Int32?, Int32, Date?).self
            )
            let seat = Seat(lesson: lesson, pupil: pupil)
            // A rescheduled lesson's earlier sessions are the same lesson's: their union counts.
            var summary = sessions[seat] ?? SessionSummary(played: PlayedTime(minutes: []))
            summary.played.formUnion(PlayedTime(minutes: played.map { UInt64(bitPattern: $0) }))
            summary.firstBeatAt = [summary.firstBeatAt, firstBeat].compactMap { $0 }.min()
            summary.lastBeatAt = [summary.lastBeatAt, lastBeat].compactMap { $0 }.max()
            summary.firstPlayedSecond = [summary.firstPlayedSecond, firstSecond.map(Int.init)].compactMap { $0 }.min()
            summary.joins += Int(joins)
            summary.firstJoinedAt = [summary.firstJoinedAt, firstJoined].compactMap { $0 }.min()
            sessions[seat] = summary
        }
        return sessions
    }

    /// The overrides that stand on these lessons, by lesson and pupil (a taken-back one stands no more).
    func overrides(of lessons: [UUID], logger: Logger) async throws -> [Seat: StatusOverride] {
        guard !lessons.isEmpty else { return [:] }
        let rows = try await database.query(
            """
            SELECT DISTINCT ON (lesson_id, pupil_id) lesson_id, pupil_id, status, note, set_by, set_at FROM attendance.overrides
            WHERE lesson_id = ANY(\(lessons)::uuid[]) ORDER BY lesson_id, pupil_id, id DESC
            """,
            idempotent: true, logger: logger
        )
        var overrides: [Seat: StatusOverride] = [:]
        for row in rows {
            let (lesson, pupil, status, note, setBy, setAt) = try row.decode((UUID, UUID, String?, String, UUID, Date).self)
            guard let status = status.flatMap(AttendanceStatus.init(rawValue:)) else { continue }
            overrides[Seat(lesson: lesson, pupil: pupil)] = StatusOverride(status: status, note: note, setBy: setBy, setAt: setAt)
        }
        return overrides
    }

    /// Records a teacher's override (nil status: taken back); every change is kept.
    func override(lesson: UUID, pupil: UUID, status: AttendanceStatus?, note: String, by user: UUID, logger: Logger) async throws {
        try await database.query(
            """
            INSERT INTO attendance.overrides (lesson_id, pupil_id, status, note, set_by)
            VALUES (\(lesson), \(pupil), \(status?.rawValue), \(note), \(user))
            """,
            idempotent: false, logger: logger
        )
    }

    /// The sessions that beat since `since` and have not left after their last beat.
    func watching(_ lesson: UUID, since: Date, logger: Logger) async throws -> [(pupil: UUID, firstBeatAt: Date, lastBeatAt: Date)] {
        try await database.query(
            """
            SELECT pupil_id, first_beat_at, last_beat_at FROM attendance.sessions
            WHERE lesson_id = \(lesson) AND last_beat_at >= \(since) AND (left_at IS NULL OR left_at < last_beat_at)
            ORDER BY first_beat_at
            """,
            idempotent: true, logger: logger
        ).map { row in
            let (pupil, first, last) = try row.decode((UUID, Date, Date).self)
            return (pupil, first, last)
        }
    }

    // MARK: Rules

    /// The rules that judge `lesson`: its own, else its course's, else the defaults.
    func rules(for lesson: LessonInfo, logger: Logger) async throws -> (AttendanceRules, RulesSource) {
        try await rules(for: [lesson], logger: logger)[lesson.id] ?? (.defaults, .defaults)
    }

    /// The same for many lessons at once, by lesson.
    func rules(for lessons: [LessonInfo], logger: Logger) async throws -> [UUID: (AttendanceRules, RulesSource)] {
        guard !lessons.isEmpty else { return [:] }
        let rows = try await database.query(
            """
            SELECT c.lesson_id, coalesce(lr.watched_percent, cr.watched_percent), coalesce(lr.late_minutes, cr.late_minutes),
                   CASE WHEN lr.lesson_id IS NOT NULL THEN 'lesson' WHEN cr.course_id IS NOT NULL THEN 'course' END
            FROM unnest(\(lessons.map(\.id))::uuid[], \(lessons.map(\.courseID))::uuid[]) AS c(lesson_id, course_id)
            LEFT JOIN attendance.lesson_rules lr ON lr.lesson_id = c.lesson_id
            LEFT JOIN attendance.course_rules cr ON cr.course_id = c.course_id
            """,
            idempotent: true, logger: logger
        )
        var rules: [UUID: (AttendanceRules, RulesSource)] = [:]
        for row in rows {
            let (lesson, percent, late, source) = try row.decode((UUID, Int16?, Int16?, String?).self)
            if let percent, let late, let source = source.flatMap(RulesSource.init(rawValue:)) {
                rules[lesson] = (AttendanceRules(watchedPercent: Int(percent), lateMinutes: Int(late)), source)
            } else {
                rules[lesson] = (.defaults, .defaults)
            }
        }
        return rules
    }

    /// The rules set on this course or lesson itself, if any.
    func storedRules(_ target: RulesTarget, logger: Logger) async throws -> AttendanceRules? {
        let rows = try await database.query(
            "SELECT watched_percent, late_minutes FROM attendance.\(unescaped: target.table) WHERE \(unescaped: target.key) = \(target.id)",
            idempotent: true, logger: logger
        )
        return try rows.first.map { row in
            let (percent, late) = try row.decode((Int16, Int16).self)
            return AttendanceRules(watchedPercent: Int(percent), lateMinutes: Int(late))
        }
    }

    func setRules(_ rules: AttendanceRules, for target: RulesTarget, by user: UUID, logger: Logger) async throws {
        try await database.query(
            """
            INSERT INTO attendance.\(unescaped: target.table) (\(unescaped: target.key), watched_percent, late_minutes, set_by)
            VALUES (\(target.id), \(Int16(rules.watchedPercent)), \(Int16(rules.lateMinutes)), \(user))
            ON CONFLICT (\(unescaped: target.key)) DO UPDATE SET watched_percent = excluded.watched_percent,
                late_minutes = excluded.late_minutes, set_by = excluded.set_by, set_at = now()
            """,
            idempotent: true, logger: logger
        )
    }

    /// The lesson is judged by its course's rules again.
    func removeRules(_ target: RulesTarget, logger: Logger) async throws {
        try await database.query(
            "DELETE FROM attendance.\(unescaped: target.table) WHERE \(unescaped: target.key) = \(target.id)", idempotent: true, logger: logger
        )
    }
}

/// What a set of rules belongs to: a course, or one lesson over its course's.
enum RulesTarget: Sendable {
    case course(UUID)
    case lesson(UUID)

    var table: String {
        switch self {
        case .course: "course_rules"
        case .lesson: "lesson_rules"
        }
    }

    var key: String {
        switch self {
        case .course: "course_id"
        case .lesson: "lesson_id"
        }
    }

    var id: UUID {
        switch self {
        case .course(let id), .lesson(let id): id
        }
    }
}
