import Foundation
import ServiceKit

// The messages of CloudClass's internal protocol (docs/internal-protocol.md). Both sides use
// these types, so a change to a message is a compile error on both.

/// `GET /internal/v1/users/{id}` (scheduling): a user as other services need to know them.
public struct UserInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var username: String
    public var displayName: String
    public var role: Role
    public var schoolID: UUID?
    public var active: Bool

    public init(id: UUID, username: String, displayName: String, role: Role, schoolID: UUID?, active: Bool) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.role = role
        self.schoolID = schoolID
        self.active = active
    }

    enum CodingKeys: String, CodingKey {
        case id, username, role, active
        case displayName = "display_name"
        case schoolID = "school_id"
    }
}

/// The paths of the internal protocol: the server registers the patterns, the client builds
/// the concrete paths, from one place.
public enum InternalRoutes {
    public static let userPattern = "/internal/v1/users/:id"

    public static let lessonPattern = "/internal/v1/lessons/:id"
    public static let viewingPattern = "/internal/v1/lessons/:id/students/:student_id"
    public static let audiencePattern = "/internal/v1/audience"
    public static let deactivatedUsersPattern = "/internal/v1/deactivated-users"
    /// Where a service's outbox delivers its batches (`MessageBatch` → `MessageReceipt`).
    public static let messages = "/internal/v1/messages"

    public static func user(_ id: UUID) -> String { "/internal/v1/users/\(id.lowercased)" }
    public static func lesson(_ id: UUID) -> String { "/internal/v1/lessons/\(id.lowercased)" }
    public static func viewing(lesson: UUID, student: UUID) -> String {
        "/internal/v1/lessons/\(lesson.lowercased)/students/\(student.lowercased)"
    }
    public static func deactivatedUsers(since: Date) -> String {
        "/internal/v1/deactivated-users?since=\(RFC3339.format(since))"
    }
    public static func audience(from: Date, to: Date) -> String {
        "/internal/v1/audience?from=\(RFC3339.format(from))&to=\(RFC3339.format(to))"
    }
}

/// `GET /internal/v1/lessons/{id}` (scheduling): a lesson's teacher, times and state
/// (`scheduled` or `cancelled`; whether it is live is broadcast's to say).
public struct LessonInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var courseID: UUID
    public var teacherID: UUID
    public var title: String
    public var startsAt: Date
    public var endsAt: Date
    public var state: String
    /// The state of a lesson that is on (not cancelled).
    public static let scheduled = "scheduled"

    public init(id: UUID, courseID: UUID, teacherID: UUID, title: String, startsAt: Date, endsAt: Date, state: String) {
        self.id = id
        self.courseID = courseID
        self.teacherID = teacherID
        self.title = title
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case id, title, state
        case courseID = "course_id"
        case teacherID = "teacher_id"
        case startsAt = "starts_at"
        case endsAt = "ends_at"
    }
}

/// `GET /internal/v1/lessons/{id}/students/{student_id}` (scheduling): may this student watch
/// this lesson? With the student's class and region when they may (for attendance and edges).
public struct ViewingPermission: Codable, Sendable, Equatable {
    public var lessonID: UUID
    public var studentID: UUID
    public var allowed: Bool
    /// Why not, when not: `not_enrolled`, `cancelled`, `inactive`.
    public var reason: String?
    public var classID: UUID?
    public var region: String?

    public init(lessonID: UUID, studentID: UUID, allowed: Bool, reason: String?, classID: UUID?, region: String?) {
        self.lessonID = lessonID
        self.studentID = studentID
        self.allowed = allowed
        self.reason = reason
        self.classID = classID
        self.region = region
    }

    enum CodingKeys: String, CodingKey {
        case allowed, reason, region
        case lessonID = "lesson_id"
        case studentID = "student_id"
        case classID = "class_id"
    }
}

/// `GET /internal/v1/audience?from=&to=` (scheduling): the students expected at each scheduled
/// lesson overlapping the window, by region (for capacity forecasts).
public struct ExpectedAudience: Codable, Sendable, Equatable {
    public struct RegionCount: Codable, Sendable, Equatable {
        public var region: String
        public var students: Int

        public init(region: String, students: Int) {
            self.region = region
            self.students = students
        }
    }

    public struct LessonAudience: Codable, Sendable, Equatable {
        public var lessonID: UUID
        public var startsAt: Date
        public var endsAt: Date
        public var regions: [RegionCount]

        public init(lessonID: UUID, startsAt: Date, endsAt: Date, regions: [RegionCount]) {
            self.lessonID = lessonID
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.regions = regions
        }

        enum CodingKeys: String, CodingKey {
            case regions
            case lessonID = "lesson_id"
            case startsAt = "starts_at"
            case endsAt = "ends_at"
        }
    }

    public var from: Date
    public var to: Date
    public var lessons: [LessonAudience]

    public init(from: Date, to: Date, lessons: [LessonAudience]) {
        self.from = from
        self.to = to
        self.lessons = lessons
    }
}

/// `lesson.changed` (scheduling's outbox): a lesson was cancelled or moved; its state and times now.
public struct LessonChanged: OutboxMessage, Equatable {
    public static let kind = "lesson.changed"
    public var lessonID: UUID
    public var state: String
    public var startsAt: Date
    public var endsAt: Date

    public init(lessonID: UUID, state: String, startsAt: Date, endsAt: Date) {
        self.lessonID = lessonID
        self.state = state
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    enum CodingKeys: String, CodingKey {
        case state
        case lessonID = "lesson_id"
        case startsAt = "starts_at"
        case endsAt = "ends_at"
    }
}

/// Broadcast's outbox → attendance: a pupil joined a lesson (first joins and join counts come
/// from these; the session itself is made by its first beat or by this, whichever comes first).
/// The join never waits for attendance: this is delivered whenever attendance is there.
public struct SessionJoined: OutboxMessage, Equatable {
    public static let kind = "session.joined"
    public var sessionID: UUID
    public var lessonID: UUID
    public var pupilID: UUID
    public var lessonStartsAt: Date
    public var lessonEndsAt: Date
    public var joinedAt: Date

    public init(sessionID: UUID, lessonID: UUID, pupilID: UUID, lessonStartsAt: Date, lessonEndsAt: Date, joinedAt: Date) {
        self.sessionID = sessionID
        self.lessonID = lessonID
        self.pupilID = pupilID
        self.lessonStartsAt = lessonStartsAt
        self.lessonEndsAt = lessonEndsAt
        self.joinedAt = joinedAt
    }

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case lessonID = "lesson_id"
        case pupilID = "pupil_id"
        case lessonStartsAt = "lesson_starts_at"
        case lessonEndsAt = "lesson_ends_at"
        case joinedAt = "joined_at"
    }
}

/// `GET /internal/v1/deactivated-users?since=` (scheduling): users deactivated at or after
/// `since`, oldest first (at most `DeactivatedUsersPage.limit`).
public struct DeactivatedUsersPage: Codable, Sendable, Equatable {
    public static let limit = 50_000
    public var users: [DeactivatedUser]

    public init(users: [DeactivatedUser]) {
        self.users = users
    }
}
