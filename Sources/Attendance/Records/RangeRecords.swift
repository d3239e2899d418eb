import Foundation
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import Store

/// Whose record over a range: one pupil's, or a class's (its pupils as the kept rolls place
/// them: the class they were in at each lesson).
enum RecordSubject: Sendable {
    case pupil(UUID)
    case schoolClass(UUID)

    var column: String {
        switch self {
        case .pupil: "pupil_id"
        case .schoolClass: "class_id"
        }
    }

    var id: UUID {
        switch self {
        case .pupil(let id), .schoolClass(let id): id
        }
    }
}

/// One pupil at one kept lesson, judged.
struct JudgedSeat: Sendable {
    var lesson: LessonInfo
    var pupil: LessonRoll.Pupil
    var standing: Standing
}

/// The kept lessons' records over a range of lesson starts, read from the kept rolls only: a
/// range report covers lessons that ended, and reads while scheduling is down.
struct RangeRecords: Sendable {
    let store: RecordStore
    let watchedSecondsPerMinute: Int
    var database: Database { store.database }

    /// More rows than this in one report is 422: a narrower range.
    static let mostRows = 100_000

    /// Whether `subject` has any kept record within the caller's reach: an administrator's is
    /// every lesson, a teacher's the lessons they taught.
    func exists(_ subject: RecordSubject, teacher: UUID?, logger: Logger) async throws -> Bool {
        let rows = try await database.query(
            """
            SELECT 1 FROM attendance.roll r JOIN attendance.lessons l ON l.lesson_id = r.lesson_id
            WHERE r.\(unescaped: subject.column) = \(subject.id) AND (\(teacher)::uuid IS NULL OR l.teacher_id = \(teacher))
            LIMIT 1
            """,
            idempotent: true, logger: logger
        )
        return rows.first != nil
    }

    /// Every pupil's standing at every kept lesson of `subject` starting in the window (the
    /// teacher's lessons only, when given), in lesson order.
    func judged(_ subject: RecordSubject, in window: TimeWindow, teacher: UUID?, logger: Logger) async throws -> [JudgedSeat] {
        let rows = try await database.query(
            """
            SELECT l.lesson_id, l.course_id, l.teacher_id, l.title, l.starts_at, l.ends_at, r.pupil_id, r.display_name, r.class_id, r.class_name
            FROM attendance.roll r JOIN attendance.lessons l ON l.lesson_id = r.lesson_id AND l.starts_at = r.lesson_starts_at
            WHERE r.\(unescaped: subject.column) = \(subject.id) AND r.lesson_starts_at >= \(window.from) AND r.lesson_starts_at < \(window.to)
              AND (\(teacher)::uuid IS NULL OR l.teacher_id = \(teacher))
            ORDER BY l.starts_at, l.lesson_id, r.display_name, r.pupil_id
            LIMIT \(Self.mostRows + 1)
            """,
            idempotent: true, logger: logger
        )
        var seats: [(LessonInfo, LessonRoll.Pupil)] = []
        for row in rows {
            let (lesson, course, lessonTeacher, title, startsAt, endsAt, pupil, name, classID, className) =
                try row.decode((UUID, UUID, UUID, String, Date, Date, UUID, String, UUID?, String?).self)
            seats.append((
                LessonInfo(id: lesson, courseID: course, teacherID: lessonTeacher, title: title, startsAt: startsAt, endsAt: endsAt, state: LessonInfo.scheduled),
                LessonRoll.Pupil(studentID: pupil, displayName: name, classID: classID, className: className)
            ))
        }
        guard seats.count <= Self.mostRows else {
            throw Problem.invalid(field: "to", "more than \(Self.mostRows) records in this window; ask for a shorter one")
        }
        var lessons: [UUID: LessonInfo] = [:]
        for (lesson, _) in seats { lessons[lesson.id] = lesson }
        let ids = Array(lessons.keys)
        let pupils: [UUID]? = if case .pupil(let id) = subject { [id] } else { nil }
        let sessions = try await store.sessions(of: ids, pupils: pupils, logger: logger)
        let overrides = try await store.overrides(of: ids, logger: logger)
        let rules = try await store.rules(for: Array(lessons.values), logger: logger)
        return seats.map { lesson, pupil in
            let seat = Seat(lesson: lesson.id, pupil: pupil.studentID)
            let standing = Standing(
                lesson: lesson, session: sessions[seat], override: overrides[seat], rules: rules[lesson.id]?.0 ?? .defaults,
                watchedSecondsPerMinute: watchedSecondsPerMinute
            )
            return JudgedSeat(lesson: lesson, pupil: pupil, standing: standing)
        }
    }
}
