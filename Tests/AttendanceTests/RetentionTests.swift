import Attendance
import Foundation
import Logging
import ServiceKit
import Store
import TestSupport
import Testing

/// The operator's retention policy on a real PostgreSQL: old months anonymised (a lesson's rows
/// still match, no two lessons link to one child) or dropped; recent months untouched.
@Suite struct RetentionTests {
    static let logger = Logger(label: "test.retention")

    /// Two lessons of one pupil in a month four years back, one this month; each with a session,
    /// a roll row and an override.
    static func filled() async throws -> (ServiceHarness<AttendanceService>, pupil: UUID, old: [UUID], recent: UUID, oldStart: Date) {
        let harness = try await AttendanceFixture.harness()
        let pupil = UUID()
        let oldStart = AttendanceRetention.cutoff(keepingYears: 4).addingTimeInterval(3 * 86_400 + 8 * 3600)
        let old = [UUID(), UUID()]
        let recent = UUID()
        let lessons = [(old[0], oldStart), (old[1], oldStart.addingTimeInterval(86_400)), (recent, Date().addingTimeInterval(-3600))]
        for (lesson, startsAt) in lessons {
            let endsAt = startsAt.addingTimeInterval(2700)
            try await harness.execute("SELECT attendance.ensure_month(\(startsAt)::date)")
            try await harness.execute(
                """
                INSERT INTO attendance.lessons (lesson_id, course_id, teacher_id, title, starts_at, ends_at)
                VALUES (\(lesson), \(UUID()), \(UUID()), 'Maths', \(startsAt), \(endsAt))
                """
            )
            try await harness.execute(
                """
                INSERT INTO attendance.sessions (lesson_starts_at, lesson_id, pupil_id, session_id, lesson_ends_at, played, first_beat_at, joins)
                VALUES (\(startsAt), \(lesson), \(pupil), \(UUID()), \(endsAt), '{-1,-1}', \(startsAt), 1)
                """
            )
            try await harness.execute(
                "INSERT INTO attendance.roll (lesson_starts_at, lesson_id, pupil_id, display_name, class_name) VALUES (\(startsAt), \(lesson), \(pupil), 'Ann', '7A')"
            )
            try await harness.execute("INSERT INTO attendance.overrides (lesson_id, pupil_id, status, note, set_by) VALUES (\(lesson), \(pupil), 'excused', 'ill: flu', \(UUID()))")
        }
        return (harness, pupil, old, recent, oldStart)
    }

    static func count(_ harness: ServiceHarness<AttendanceService>, _ table: String, pupil: UUID) async throws -> Int64 {
        try await harness.scalar("SELECT count(*)::int8 FROM attendance.\(unescaped: table) WHERE pupil_id = \(pupil)", as: Int64.self)
    }

    @Test func oldMonthsAreAnonymisedSoNoChildCanBeFollowedAndRatesStillAddUp() async throws {
        let (harness, pupil, old, recent, oldStart) = try await Self.filled()
        let cutoff = AttendanceRetention.cutoff(keepingYears: 3)
        let month = String(RFC3339Month.of(oldStart))
        try await harness.database.withClient(logger: Self.logger) { client async throws in
            #expect(try await AttendanceRetention.months(before: cutoff, on: client, logger: Self.logger) == [.init(month: month, sessions: 2, roll: 2)])
            #expect(try await AttendanceRetention.apply(.anonymise, before: cutoff, on: client, logger: Self.logger) == [.init(month: month, sessions: 2, roll: 2)])
            // Done once: a second run leaves the month alone.
            #expect(try await AttendanceRetention.apply(.anonymise, before: cutoff, on: client, logger: Self.logger).isEmpty)
        }
        for table in ["sessions", "roll", "overrides"] {
            #expect(try await Self.count(harness, table, pupil: pupil) == 1, "only this month's \(table) row still names the pupil")
        }
        var ids: [UUID] = []
        for lesson in old {
            let session = try await harness.scalar("SELECT pupil_id FROM attendance.sessions WHERE lesson_id = \(lesson)", as: UUID.self)
            #expect(try await harness.scalar("SELECT pupil_id FROM attendance.roll WHERE lesson_id = \(lesson)", as: UUID.self) == session, "a lesson's rows still match")
            #expect(try await harness.scalar("SELECT pupil_id FROM attendance.overrides WHERE lesson_id = \(lesson)", as: UUID.self) == session)
            #expect(try await harness.scalar("SELECT display_name || '|' || (SELECT note FROM attendance.overrides WHERE lesson_id = \(lesson)) FROM attendance.roll WHERE lesson_id = \(lesson)", as: String.self) == "|")
            #expect(try await harness.scalar("SELECT first_beat_at IS NULL AND cardinality(played) = 2 FROM attendance.sessions WHERE lesson_id = \(lesson)", as: Bool.self) == true)
            ids.append(session)
        }
        #expect(ids[0] != ids[1] && !ids.contains(pupil), "two lessons' rows cannot be linked to one child")
        #expect(try await harness.scalar("SELECT display_name FROM attendance.roll WHERE lesson_id = \(recent)", as: String.self) == "Ann")
        #expect(try await harness.scalar("SELECT count(*)::int8 FROM attendance.retention_log WHERE action = 'anonymise'", as: Int64.self) == 1)
    }

    @Test func droppedMonthsLoseTheirPartitionsAndOverridesButNotTheLessonsFacts() async throws {
        let (harness, pupil, old, recent, oldStart) = try await Self.filled()
        let partition = "attendance.sessions_\(RFC3339Month.of(oldStart).replacingOccurrences(of: "-", with: "_"))"
        #expect(try await harness.scalar("SELECT to_regclass(\(partition)) IS NOT NULL", as: Bool.self) == true)
        try await harness.database.withClient(logger: Self.logger) { client async throws in
            #expect(try await AttendanceRetention.apply(.drop, before: AttendanceRetention.cutoff(keepingYears: 3), on: client, logger: Self.logger).count == 1)
        }
        #expect(try await harness.scalar("SELECT to_regclass(\(partition)) IS NULL", as: Bool.self) == true)
        for table in ["sessions", "roll", "overrides"] {
            #expect(try await Self.count(harness, table, pupil: pupil) == 1, "this month's \(table) row stays")
        }
        #expect(try await harness.scalar("SELECT count(*)::int8 FROM attendance.overrides WHERE lesson_id = ANY(\(old)::uuid[])", as: Int64.self) == 0)
        #expect(try await harness.scalar("SELECT count(*)::int8 FROM attendance.lessons WHERE lesson_id = ANY(\(old + [recent])::uuid[])", as: Int64.self) == 3)
    }

    @Test func theCutoffIsTheFirstOfTheMonthYearsBack() throws {
        let now = try #require(RFC3339.parse("2026-12-04T02:08:55Z"))
        #expect(RFC3339.format(AttendanceRetention.cutoff(keepingYears: 3, now: now)) == "2023-12-01T00:00:00Z")
    }
}

/// `YYYY-MM` of a date (UTC).
enum RFC3339Month {
    static func of(_ date: Date) -> String { String(RFC3339.format(date).prefix(7)) }
}
