import Foundation
import ServiceKit

/// A lesson and the pupils who should be at it (scheduling): every active student of its
/// course, enrolled with their class or by name, once each. Attendance keeps a copy when the
/// lesson ends, so a later roster import does not rewrite old reports.
public struct LessonRoll: Codable, Sendable, Equatable {
    public struct Pupil: Codable, Sendable, Equatable {
        public var studentID: UUID
        public var displayName: String
        public var classID: UUID?
        public var className: String?

        public init(studentID: UUID, displayName: String, classID: UUID?, className: String?) {
            self.studentID = studentID
            self.displayName = displayName
            self.classID = classID
            self.className = className
        }

        enum CodingKeys: String, CodingKey {
            case studentID = "student_id"
            case displayName = "display_name"
            case classID = "class_id"
            case className = "class_name"
        }
    }

    public var lesson: LessonInfo
    public var pupils: [Pupil]

    public init(lesson: LessonInfo, pupils: [Pupil]) {
        self.lesson = lesson
        self.pupils = pupils
    }
}

/// `GET /internal/v1/rolls?ended_after_ms=&after_lesson=&until_ms=` (scheduling): the rolls of
/// the scheduled lessons that ended after the cursor (`ended_after_ms`, then `after_lesson` among those
/// ending at the same millisecond) and by `until_ms`, in the order they ended, at most `limit` lessons.
/// `complete` says nothing more ended in that window: otherwise ask again from the last one.
public struct EndedLessonRolls: Codable, Sendable, Equatable {
    public static let limit = 200
    public var rolls: [LessonRoll]
    public var complete: Bool
    /// When the last of `rolls` ended, in milliseconds since 1970: the next page's
    /// `ended_after_ms` (its `ends_at` as text has whole seconds only).
    public var lastEndedMilliseconds: Int64?

    public init(rolls: [LessonRoll], complete: Bool) {
        self.rolls = rolls
        self.complete = complete
        lastEndedMilliseconds = rolls.last.map { InternalRoutes.milliseconds($0.lesson.endsAt) }
    }

    /// Where the next page starts: after the last of these rolls.
    public var next: EndedLessonsCursor? {
        guard let last = rolls.last, let milliseconds = lastEndedMilliseconds else { return nil }
        return EndedLessonsCursor(endedAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000), lesson: last.lesson.id)
    }

    enum CodingKeys: String, CodingKey {
        case rolls, complete
        case lastEndedMilliseconds = "last_ended_ms"
    }
}

/// Where a walk over ended lessons stands: after the lesson `lesson` that ended at `endedAt`.
public struct EndedLessonsCursor: Sendable, Equatable {
    public var endedAt: Date
    public var lesson: UUID

    public init(endedAt: Date, lesson: UUID) {
        self.endedAt = endedAt
        self.lesson = lesson
    }

    /// Before every lesson that ended after `date`.
    public static func start(after date: Date) -> EndedLessonsCursor {
        EndedLessonsCursor(endedAt: date, lesson: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    }
}

/// `GET /internal/v1/courses/{id}` (scheduling): a course and its teacher.
public struct CourseInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var teacherID: UUID
    public var title: String

    public init(id: UUID, teacherID: UUID, title: String) {
        self.id = id
        self.teacherID = teacherID
        self.title = title
    }

    enum CodingKeys: String, CodingKey {
        case id, title
        case teacherID = "teacher_id"
    }
}

extension InternalRoutes {
    public static let coursePattern = "/internal/v1/courses/:id"
    public static func course(_ id: UUID) -> String { "/internal/v1/courses/\(id.lowercased)" }

    public static let rollPattern = "/internal/v1/lessons/:id/roll"
    public static let endedRollsPattern = "/internal/v1/rolls"

    public static func roll(_ lesson: UUID) -> String { "/internal/v1/lessons/\(lesson.lowercased)/roll" }
    /// Times as milliseconds since 1970: RFC 3339 text here drops fractions, and a cursor
    /// must name the instant it stopped at.
    public static func endedRolls(after cursor: EndedLessonsCursor, until: Date) -> String {
        "/internal/v1/rolls?ended_after_ms=\(milliseconds(cursor.endedAt))&after_lesson=\(cursor.lesson.lowercased)&until_ms=\(milliseconds(until))"
    }

    /// Rounded to the nearest: a cursor's instant read back from the database as a `Date` may
    /// sit a hair below its millisecond.
    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
