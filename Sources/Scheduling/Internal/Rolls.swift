import Foundation
import InternalProtocol
import Logging
import PostgresNIO
import Store

/// Who should be at a lesson: the active students of its course, by class or by name, each
/// once (a pupil enrolled both ways is on the roll once, with their class).
struct Rolls: Sendable {
    let database: Database

    /// The roll of one lesson, or nil when there is no such lesson.
    func roll(of lesson: UUID, logger: Logger) async throws -> LessonRoll? {
        guard let lesson = try await self.lesson(lesson, logger: logger) else { return nil }
        return try await withPupils([lesson], logger: logger).first
    }

    func lesson(_ id: UUID, logger: Logger) async throws -> LessonInfo? {
        try await lessons("SELECT \(unescaped: Self.lessonColumns) FROM scheduling.lessons l WHERE l.id = \(id)", logger: logger).first
    }

    /// The scheduled lessons that ended after `cursor` and by `until`, in the order they ended.
    func ended(after cursor: EndedLessonsCursor, until: Date, logger: Logger) async throws -> EndedLessonRolls {
        // Lessons last at most `LessonRules.longest`: bounding their start lets the start index
        // answer. Ends compare at millisecond precision, the cursor's own.
        let earliestStart = cursor.endedAt.addingTimeInterval(-LessonRules.longest)
        let limit = EndedLessonRolls.limit
        let lessons = try await lessons(
            """
            SELECT \(unescaped: Self.lessonColumns) FROM scheduling.lessons l
            WHERE l.state = 'scheduled' AND lower(l.during) >= \(earliestStart)
              AND (date_trunc('milliseconds', upper(l.during)), l.id) > (\(cursor.endedAt), \(cursor.lesson))
              AND upper(l.during) <= \(until)
            ORDER BY date_trunc('milliseconds', upper(l.during)), l.id
            LIMIT \(limit + 1)
            """,
            logger: logger
        )
        return EndedLessonRolls(rolls: try await withPupils(Array(lessons.prefix(limit)), logger: logger), complete: lessons.count <= limit)
    }

    static let lessonColumns = "l.id, l.course_id, l.teacher_id, l.title, lower(l.during), date_trunc('milliseconds', upper(l.during)), l.state"

    private func lessons(_ query: PostgresQuery, logger: Logger) async throws -> [LessonInfo] {
        try await database.query(query, idempotent: true, logger: logger).map { row in
            let (id, course, teacher, title, startsAt, endsAt, state) = try row.decode((UUID, UUID, UUID, String, Date, Date, String).self)
            return LessonInfo(id: id, courseID: course, teacherID: teacher, title: title, startsAt: startsAt, endsAt: endsAt, state: state)
        }
    }

    private func withPupils(_ lessons: [LessonInfo], logger: Logger) async throws -> [LessonRoll] {
        guard !lessons.isEmpty else { return [] }
        let rows = try await database.query(
            """
            WITH chosen AS (SELECT unnest(\(lessons.map(\.id))::uuid[]) AS lesson_id, unnest(\(lessons.map(\.courseID))::uuid[]) AS course_id),
            enrolled AS (
                SELECT c.lesson_id, u.id FROM chosen c
                JOIN scheduling.course_classes cc ON cc.course_id = c.course_id
                JOIN scheduling.users u ON u.class_id = cc.class_id
                UNION
                SELECT c.lesson_id, cs.student_id FROM chosen c
                JOIN scheduling.course_students cs ON cs.course_id = c.course_id
            )
            SELECT e.lesson_id, u.id, u.display_name, u.class_id, k.name
            FROM enrolled e JOIN scheduling.users u ON u.id = e.id AND u.active AND u.role = 'student'
            LEFT JOIN scheduling.classes k ON k.id = u.class_id
            ORDER BY e.lesson_id, k.name NULLS LAST, u.display_name, u.id
            """,
            idempotent: true,
            logger: logger
        )
        var pupils: [UUID: [LessonRoll.Pupil]] = [:]
        for row in rows {
            let (lesson, student, name, classID, className) = try row.decode((UUID, UUID, String, UUID?, String?).self)
            pupils[lesson, default: []].append(.init(studentID: student, displayName: name, classID: classID, className: className))
        }
        return lessons.map { LessonRoll(lesson: $0, pupils: pupils[$0.id] ?? []) }
    }
}
