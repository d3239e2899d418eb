import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// A course as the API shows it.
struct Course: ResponseEncodable, Sendable {
    var id: String
    var title: String
    var subject: String
    var grade: Int
    var teacher_id: String
    var created_at: Date
}

/// Who may change a course: its teacher, or an administrator.
struct CourseAccess: Sendable {
    let database: Database

    func course(_ id: UUID, logger: Logger) async throws -> Course? {
        let rows = try await database.query(
            "SELECT id, title, subject, grade, teacher_id, created_at FROM scheduling.courses WHERE id = \(id)",
            idempotent: true,
            logger: logger
        )
        return try rows.first.map(Self.course(from:))
    }

    /// The course, when `identity` owns it (or is an admin). Another teacher's course is 404,
    /// as if it did not exist: what is outside one's reach is not confirmed either.
    func owned(_ id: UUID, by identity: Identity, logger: Logger) async throws -> Course {
        guard let course = try await course(id, logger: logger),
            identity.role == .admin || course.teacher_id == identity.userID.lowercased
        else {
            throw Self.noSuchCourse(id)
        }
        return course
    }

    static func noSuchCourse(_ id: UUID) -> Problem {
        Problem.notFound("No course has id \(id.lowercased).")
    }

    static func course(from row: PostgresRow) throws -> Course {
        let (id, title, subject, grade, teacher, createdAt) = try row.decode((UUID, String, String, Int16, UUID, Date).self)
        return Course(id: id.lowercased, title: title, subject: subject, grade: Int(grade), teacher_id: teacher.lowercased, created_at: createdAt)
    }
}
