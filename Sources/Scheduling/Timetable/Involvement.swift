import Foundation
import Logging
import ServiceKit
import Store

/// Who takes part in a lesson: its teacher, the students of its course (by class or one by
/// one), and administrators.
struct Involvement: Sendable {
    let database: Database

    func isInvolved(_ identity: Identity, in lesson: Lesson, logger: Logger) async throws -> Bool {
        switch identity.role {
        case .admin: return true
        case .teacher: return lesson.teacher_id == identity.userID.lowercased
        case .student: return try await isEnrolled(student: identity.userID, course: UUID(uuidString: lesson.course_id)!, logger: logger)
        }
    }

    /// True when the active student belongs to the course through their class or by name.
    func isEnrolled(student: UUID, course: UUID, logger: Logger) async throws -> Bool {
        let rows = try await database.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM scheduling.users u
                WHERE u.id = \(student) AND u.active AND u.role = 'student' AND (
                    EXISTS (SELECT 1 FROM scheduling.course_classes cc WHERE cc.course_id = \(course) AND cc.class_id = u.class_id)
                    OR EXISTS (SELECT 1 FROM scheduling.course_students cs WHERE cs.course_id = \(course) AND cs.student_id = u.id)))
            """,
            idempotent: true,
            logger: logger
        )
        return try rows.first?.decode(Bool.self) ?? false
    }
}
