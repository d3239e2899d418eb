import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Store

/// A lesson in someone's timetable: the lesson with its course's title and subject.
struct TimetableEntry: Encodable, Sendable {
    var id: String
    var course_id: String
    var course_title: String
    var subject: String
    var series_id: String?
    var teacher_id: String
    var title: String
    var starts_at: Date
    var ends_at: Date
    var state: String
    /// The series' zone, for lessons booked as a series.
    var timezone: String?
}

/// The lessons a user sees: a student those of their courses (by class or by name), a teacher
/// those they teach, an administrator all, narrowed by region, school or class.
struct TimetableQuery: Sendable {
    struct Filters: Sendable {
        var region: String?
        var schoolID: UUID?
        var classID: UUID?
    }

    /// Where a page starts: after this lesson in (starts_at, id) order.
    struct Position: Sendable {
        var startsAt: Date
        var id: UUID

        init(startsAt: Date, id: UUID) {
            self.startsAt = startsAt
            self.id = id
        }

        /// `<milliseconds since 1970>_<lesson id>`, as `next_cursor` gives it.
        init?(cursor: String) {
            let parts = cursor.split(separator: "_")
            guard parts.count == 2, let millis = Int64(parts[0]), let startsAt = RFC3339.date(millisecondsSince1970: millis),
                let id = UUID(uuidString: String(parts[1]))
            else { return nil }
            self.init(startsAt: startsAt, id: id)
        }

        var cursor: String { "\(Int64((startsAt.timeIntervalSince1970 * 1000).rounded()))_\(id.lowercased)" }
    }

    let database: Database

    static let select = """
        SELECT l.id, l.course_id, c.title, c.subject, l.series_id, l.teacher_id, l.title, lower(l.during), upper(l.during), l.state, s.timezone
        FROM scheduling.lessons l
        JOIN scheduling.courses c ON c.id = l.course_id
        LEFT JOIN scheduling.lesson_series s ON s.id = l.series_id
        """
    static let order = "ORDER BY lower(l.during), l.id"

    func lessons(
        for identity: Identity, from: Date, to: Date, filters: Filters = Filters(), after: Position? = nil, limit: Int, logger: Logger
    ) async throws -> [TimetableEntry] {
        let me = identity.userID
        let afterTime = after?.startsAt ?? Date(timeIntervalSince1970: 0)
        let afterID = after?.id ?? UUID(uuidString: "00000000-0000-0000-0000-000000000000")!
        // A lesson overlapping the window starts at most the longest lesson before it opens: that
        // bound lets every scope walk an index in start order.
        let earliest = from.addingTimeInterval(-LessonRules.longest)
        let hasFilters = filters.region != nil || filters.schoolID != nil || filters.classID != nil
        // One statement per scope, so each is planned around its own index: a teacher's lessons
        // by the exclusion constraint's (teacher, time) index, a pupil's by their few courses,
        // an administrator's by start time.
        let query: PostgresQuery =
            switch identity.role {
            case .teacher:
                """
                \(unescaped: Self.select) WHERE l.teacher_id = \(me)
                  AND l.during && tstzrange(\(from), \(to)) AND lower(l.during) >= \(earliest) AND lower(l.during) < \(to)
                  AND (lower(l.during), l.id) > (\(afterTime), \(afterID))
                \(unescaped: Self.order) LIMIT \(limit)
                """
            case .student:
                """
                \(unescaped: Self.select) WHERE l.course_id IN (
                    SELECT cc.course_id FROM scheduling.course_classes cc JOIN scheduling.users u ON u.class_id = cc.class_id WHERE u.id = \(me)
                    UNION SELECT cs.course_id FROM scheduling.course_students cs WHERE cs.student_id = \(me))
                  AND l.during && tstzrange(\(from), \(to)) AND lower(l.during) >= \(earliest) AND lower(l.during) < \(to)
                  AND (lower(l.during), l.id) > (\(afterTime), \(afterID))
                \(unescaped: Self.order) LIMIT \(limit)
                """
            case .admin where hasFilters:
                """
                \(unescaped: Self.select) WHERE l.course_id IN (
                    SELECT cc.course_id FROM scheduling.course_classes cc
                    JOIN scheduling.classes k ON k.id = cc.class_id JOIN scheduling.schools sc ON sc.id = k.school_id
                    WHERE (\(filters.classID)::uuid IS NULL OR k.id = \(filters.classID))
                      AND (\(filters.schoolID)::uuid IS NULL OR k.school_id = \(filters.schoolID))
                      AND (\(filters.region)::text IS NULL OR sc.region = \(filters.region)))
                  AND l.during && tstzrange(\(from), \(to)) AND lower(l.during) >= \(earliest) AND lower(l.during) < \(to)
                  AND (lower(l.during), l.id) > (\(afterTime), \(afterID))
                \(unescaped: Self.order) LIMIT \(limit)
                """
            case .admin:
                """
                \(unescaped: Self.select) WHERE l.during && tstzrange(\(from), \(to)) AND lower(l.during) >= \(earliest) AND lower(l.during) < \(to)
                  AND (lower(l.during), l.id) > (\(afterTime), \(afterID))
                \(unescaped: Self.order) LIMIT \(limit)
                """
            }
        let rows = try await database.query(query, idempotent: true, logger: logger)
        return try rows.map { row in
            let (id, course, courseTitle, subject, series, teacher, title, startsAt, endsAt, state, zone) = try row.decode(
                (UUID, UUID, String, String, UUID?, UUID, String, Date, Date, String, String?).self
            )
            return TimetableEntry(
                id: id.lowercased, course_id: course.lowercased, course_title: courseTitle, subject: subject, series_id: series?.lowercased,
                teacher_id: teacher.lowercased, title: title, starts_at: startsAt, ends_at: endsAt, state: state, timezone: zone
            )
        }
    }
}
