import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// Courses and who is enrolled in them.
struct CoursesController: Sendable {
    let database: Database
    let courses: CourseAccess
    let bookings: Bookings
    let idempotency: Idempotency
    let involvement: Involvement
    let beforeEnrollmentCommits: @Sendable () async -> Void

    struct NewCourse: Decodable {
        var title: String
        var subject: String
        var grade: Int
        var teacher_id: UUID?
    }

    struct EnrollmentRequest: Decodable {
        var class_ids: [UUID]?
        var student_ids: [UUID]?
    }

    struct Enrollments: ResponseEncodable {
        var course_id: String
        var class_ids: [String]
        var student_ids: [String]
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/courses", for: .users(.teacher, .admin), use: create)
        routes.get("/api/v1/courses", for: .users(.teacher, .admin), use: list)
        routes.get("/api/v1/courses/:id", for: .signedIn, use: show)
        routes.post("/api/v1/courses/:id/enrollments", for: .users(.teacher, .admin), use: enroll)
        routes.get("/api/v1/courses/:id/enrollments", for: .users(.teacher, .admin), use: enrollments)
    }

    @Sendable func create(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let identity = context.caller
        let (body, raw) = try await request.decodeJSONKeepingBody(as: NewCourse.self, context: context)
        let title = body.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let subject = body.subject.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors = LessonRules.check(title: title)
        if let problem = LessonRules.subject.problem(with: subject) { errors.append(.init(field: "subject", message: problem)) }
        if !(1...12).contains(body.grade) { errors.append(.init(field: "grade", message: "must be a grade from 1 to 12")) }
        if identity.role == .admin && body.teacher_id == nil { errors.append(.init(field: "teacher_id", message: "an administrator names the course's teacher")) }
        if identity.role == .teacher, let named = body.teacher_id, named != identity.userID {
            errors.append(.init(field: "teacher_id", message: "teachers create courses they teach themselves"))
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let teacher = body.teacher_id ?? identity.userID
        let id = UUID()
        return try await idempotency.run(request, body: raw, caller: identity.userID, logger: context.logger) { connection in
            let found = try await connection.query(
                "SELECT 1 FROM scheduling.users WHERE id = \(teacher) AND role = 'teacher' AND active", logger: context.logger
            ).collect()
            guard !found.isEmpty else { throw Problem.invalid(field: "teacher_id", "names no active teacher") }
            let rows = try await connection.query(
                """
                INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id) VALUES (\(id), \(title), \(subject), \(Int16(body.grade)), \(teacher))
                RETURNING id, title, subject, grade, teacher_id, created_at
                """,
                logger: context.logger
            ).collect()
            return try Idempotency.answer(.created, CourseAccess.course(from: rows[0]))
        }
    }

    @Sendable func list(_ request: Request, context: CallerContext<Identity>) async throws -> DirectoryController.Page<Course> {
        let identity = context.caller
        let query = request.uri.queryParameters
        let limit = try DirectoryController.limit(query["limit"].map(String.init))
        var teacher: UUID? = identity.role == .teacher ? identity.userID : nil
        if let text = query["teacher_id"].map(String.init) {
            // Checked for everyone (the document says a UUID); only administrators' is used.
            guard let id = UUID(uuidString: text) else { throw Problem.invalid(field: "teacher_id", "must be a UUID") }
            if identity.role == .admin { teacher = id }
        }
        let after = try DirectoryController.idCursor(query["cursor"].map(String.init))
        let rows = try await database.query(
            """
            SELECT id, title, subject, grade, teacher_id, created_at FROM scheduling.courses
            WHERE id > \(after) AND (\(teacher)::uuid IS NULL OR teacher_id = \(teacher))
            ORDER BY id LIMIT \(limit + 1)
            """,
            idempotent: true,
            logger: context.logger
        )
        return .init(fetched: try rows.map(CourseAccess.course(from:)), limit: limit, cursor: \.id)
    }

    @Sendable func show(_ request: Request, context: CallerContext<Identity>) async throws -> Course {
        let identity = context.caller
        let id = try context.parameters.uuid("id")
        guard let course = try await courses.course(id, logger: context.logger) else { throw CourseAccess.noSuchCourse(id) }
        // Its teacher, administrators and its pupils see it; to anyone else it does not exist.
        let inReach: Bool =
            switch identity.role {
            case .admin: true
            case .teacher: course.teacher_id == identity.userID.lowercased
            case .student: try await involvement.isEnrolled(student: identity.userID, course: id, logger: context.logger)
            }
        guard inReach else { throw CourseAccess.noSuchCourse(id) }
        return course
    }

    /// Adds classes and single students to a course (already enrolled ones are left as they are).
    /// New classes take their seats in every lesson ahead, under the same clash rules as booking.
    @Sendable func enroll(_ request: Request, context: CallerContext<Identity>) async throws -> Enrollments {
        let identity = context.caller
        let courseID = try context.parameters.uuid("id")
        let body = try await request.decodeJSON(as: EnrollmentRequest.self, context: context)
        let classIDs = (body.class_ids ?? []).uniqued()
        let studentIDs = (body.student_ids ?? []).uniqued()
        guard !classIDs.isEmpty || !studentIDs.isEmpty else {
            throw Problem.invalid(field: "class_ids", "give class_ids or student_ids to enrol")
        }
        let course = try await courses.owned(courseID, by: identity, logger: context.logger)
        try await checkEnrollable(classes: classIDs, students: studentIDs, by: identity, logger: context.logger)
        var added: [UUID] = []
        try await bookings.attempt(what: "Enrolling these classes") {
            try await database.withTransaction(logger: context.logger) { connection in
                // The seats of a course's lessons are derived from its lessons and its classes:
                // booking, moving and cancelling take this lock too, so each sees the other's
                // rows (under READ COMMITTED neither would see the other's uncommitted half,
                // leaving a lesson without a new class's seat or a stale seat behind).
                try await Bookings.serialize(teacher: UUID(uuidString: course.teacher_id)!, on: connection, logger: context.logger)
                added = try await connection.query(
                    """
                    INSERT INTO scheduling.course_classes (course_id, class_id) SELECT \(courseID), unnest(\(classIDs)::uuid[])
                    ON CONFLICT DO NOTHING RETURNING class_id
                    """,
                    logger: context.logger
                ).collect().map { try $0.decode(UUID.self) }
                try await connection.query(
                    """
                    INSERT INTO scheduling.course_students (course_id, student_id) SELECT \(courseID), unnest(\(studentIDs)::uuid[])
                    ON CONFLICT DO NOTHING
                    """,
                    logger: context.logger
                )
                do {
                    try await connection.query(
                        """
                        INSERT INTO scheduling.class_bookings (lesson_id, class_id, during)
                        SELECT l.id, c.id, l.during
                        FROM scheduling.lessons l CROSS JOIN unnest(\(added)::uuid[]) AS c(id)
                        WHERE l.course_id = \(courseID) AND l.state = 'scheduled' AND upper(l.during) > now()
                        """,
                        logger: context.logger
                    )
                } catch where error.isExclusionViolation {
                    throw Bookings.Refused()
                }
                await beforeEnrollmentCommits()
            }
        } report: {
            try await bookings.conflicts(enrolling: added, in: courseID, logger: context.logger)
        }
        return try await enrollments(of: courseID, logger: context.logger)
    }

    @Sendable func enrollments(_ request: Request, context: CallerContext<Identity>) async throws -> Enrollments {
        let identity = context.caller
        let courseID = try context.parameters.uuid("id")
        _ = try await courses.owned(courseID, by: identity, logger: context.logger)
        return try await enrollments(of: courseID, logger: context.logger)
    }

    private func enrollments(of course: UUID, logger: Logger) async throws -> Enrollments {
        let classes = try await database.query(
            "SELECT class_id FROM scheduling.course_classes WHERE course_id = \(course) ORDER BY class_id", idempotent: true, logger: logger)
        let students = try await database.query(
            "SELECT student_id FROM scheduling.course_students WHERE course_id = \(course) ORDER BY student_id", idempotent: true, logger: logger)
        return Enrollments(
            course_id: course.lowercased,
            class_ids: try classes.map { try $0.decode(UUID.self).lowercased },
            student_ids: try students.map { try $0.decode(UUID.self).lowercased }
        )
    }

    /// Every id names a class or an active student; a teacher enrols only from their own school.
    private func checkEnrollable(classes: [UUID], students: [UUID], by identity: Identity, logger: Logger) async throws {
        let rows = try await database.query(
            """
            SELECT 'class', c.id, c.school_id FROM scheduling.classes c WHERE c.id = ANY(\(classes)::uuid[])
            UNION ALL
            SELECT 'student', u.id, u.school_id FROM scheduling.users u WHERE u.id = ANY(\(students)::uuid[]) AND u.role = 'student' AND u.active
            UNION ALL
            SELECT 'me', u.id, u.school_id FROM scheduling.users u WHERE u.id = \(identity.userID)
            """,
            idempotent: true,
            logger: logger
        )
        var schools: [UUID: UUID?] = [:]
        var callerSchool: UUID?
        for row in rows {
            let (kind, id, school) = try row.decode((String, UUID, UUID?).self)
            if kind == "me" { callerSchool = school } else { schools[id] = school }
        }
        var errors: [Problem.FieldError] = []
        for (field, ids) in [("class_ids", classes), ("student_ids", students)] {
            for (index, id) in ids.enumerated() {
                guard let school = schools[id] else {
                    errors.append(.init(field: "\(field)[\(index)]", message: field == "class_ids" ? "names no class" : "names no active student"))
                    continue
                }
                if identity.role == .teacher && school != callerSchool {
                    errors.append(.init(field: "\(field)[\(index)]", message: "is in another school; ask an administrator"))
                }
            }
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
    }
}

extension Array where Element: Hashable {
    /// The elements without repeats, in their first order.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
