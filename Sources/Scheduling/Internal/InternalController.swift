import Foundation
import Hummingbird
import InternalProtocol
import Logging
import ServiceKit
import Store

/// The scheduling service's side of the internal protocol.
struct InternalController: Sendable {
    let store: AuthStore
    let database: Database

    /// The widest window the audience query answers (a forecast looks a day or two ahead).
    static let longestAudienceWindow: TimeInterval = 8 * 86_400

    func register(on routes: RouteTable) {
        routes.get(InternalRoutes.userPattern, for: .services, use: user)
        routes.get(InternalRoutes.lessonPattern, for: .services, use: lesson)
        routes.get(InternalRoutes.viewingPattern, for: .services, use: viewing)
        routes.get(InternalRoutes.coursePattern, for: .services, use: course)
        routes.get(InternalRoutes.rollPattern, for: .services, use: roll)
        routes.get(InternalRoutes.endedRollsPattern, for: .services, use: endedRolls)
        routes.get(InternalRoutes.audiencePattern, for: .services, use: audience)
        routes.get(InternalRoutes.deactivatedUsersPattern, for: .services, use: deactivatedUsers)
    }

    @Sendable func deactivatedUsers(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<DeactivatedUsersPage> {
        guard let since = request.uri.queryParameters["since"].flatMap({ RFC3339.parse(String($0)) }) else {
            throw Problem.invalid(field: "since", "must be an RFC 3339 time")
        }
        return InternalMessage(DeactivatedUsersPage(users: try await Deactivations(database: database).deactivated(since: since, logger: context.logger)))
    }

    @Sendable func user(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<UserInfo> {
        let id = try context.parameters.uuid("id")
        guard let account = try await store.account(id: id, logger: context.logger) else {
            throw Problem.notFound("No user has id \(id.lowercased).")
        }
        return InternalMessage(
            UserInfo(
                id: account.id, username: account.username, displayName: account.displayName, role: account.role,
                schoolID: account.schoolID, active: account.active
            )
        )
    }

    @Sendable func lesson(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<LessonInfo> {
        let id = try context.parameters.uuid("id")
        guard let lesson = try await Rolls(database: database).lesson(id, logger: context.logger) else {
            throw Problem.notFound("No lesson has id \(id.lowercased).")
        }
        return InternalMessage(lesson)
    }

    @Sendable func course(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<CourseInfo> {
        let id = try context.parameters.uuid("id")
        let rows = try await database.query("SELECT teacher_id, title FROM scheduling.courses WHERE id = \(id)", idempotent: true, logger: context.logger)
        guard let row = rows.first else { throw Problem.notFound("No course has id \(id.lowercased).") }
        let (teacher, title) = try row.decode((UUID, String).self)
        return InternalMessage(CourseInfo(id: id, teacherID: teacher, title: title))
    }

    @Sendable func roll(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<LessonRoll> {
        let id = try context.parameters.uuid("id")
        guard let roll = try await Rolls(database: database).roll(of: id, logger: context.logger) else {
            throw Problem.notFound("No lesson has id \(id.lowercased).")
        }
        return InternalMessage(roll)
    }

    @Sendable func endedRolls(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<EndedLessonRolls> {
        let query = request.uri.queryParameters
        func milliseconds(_ name: Substring) throws -> Date {
            guard let date = query[name].flatMap({ Int64(String($0)) }).flatMap(RFC3339.date(millisecondsSince1970:)) else {
                throw Problem.invalid(field: String(name), "must be milliseconds since 1970")
            }
            return date
        }
        guard let after = query["after_lesson"].flatMap({ UUID(uuidString: String($0)) }) else {
            throw Problem.invalid(field: "after_lesson", "must be a lesson id")
        }
        let cursor = EndedLessonsCursor(endedAt: try milliseconds("ended_after_ms"), lesson: after)
        return InternalMessage(try await Rolls(database: database).ended(after: cursor, until: try milliseconds("until_ms"), logger: context.logger))
    }

    /// One round trip: the lesson's state, the student's standing and enrolment, and where
    /// they are.
    @Sendable func viewing(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<ViewingPermission> {
        let lessonID = try context.parameters.uuid("id")
        let studentID = try context.parameters.uuid("student_id")
        let rows = try await database.query(
            """
            SELECT l.state, u.id IS NOT NULL AND u.active AND u.role = 'student', u.class_id, s.region,
                   EXISTS (SELECT 1 FROM scheduling.course_classes cc WHERE cc.course_id = l.course_id AND cc.class_id = u.class_id)
                   OR EXISTS (SELECT 1 FROM scheduling.course_students cs WHERE cs.course_id = l.course_id AND cs.student_id = u.id)
            FROM scheduling.lessons l
            LEFT JOIN scheduling.users u ON u.id = \(studentID)
            LEFT JOIN scheduling.schools s ON s.id = u.school_id
            WHERE l.id = \(lessonID)
            """,
            idempotent: true,
            logger: context.logger
        )
        guard let row = rows.first else { throw Problem.notFound("No lesson has id \(lessonID.lowercased).") }
        let (state, active, classID, region, enrolled) = try row.decode((String, Bool?, UUID?, String?, Bool?).self)
        let reason: String? =
            if active != true { "inactive" }
            else if enrolled != true { "not_enrolled" }
            else if state == "cancelled" { "cancelled" }
            else { nil }
        return InternalMessage(
            ViewingPermission(lessonID: lessonID, studentID: studentID, allowed: reason == nil, reason: reason, classID: classID, region: region)
        )
    }

    /// Students expected per scheduled lesson overlapping `[from, to)`, by the region of their
    /// school; a student enrolled both by class and by name counts once.
    @Sendable func audience(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<ExpectedAudience> {
        let query = request.uri.queryParameters
        guard let from = query["from"].flatMap({ RFC3339.parse(String($0)) }), let to = query["to"].flatMap({ RFC3339.parse(String($0)) }),
            to > from, to.timeIntervalSince(from) <= Self.longestAudienceWindow
        else {
            throw Problem.invalid(field: "from", "from and to must be RFC 3339 times, from before to, at most 8 days apart")
        }
        // Pupils come by class (counted per class once, not pupil by pupil) or by name; one
        // enrolled by name whose class is enrolled too is already counted with the class.
        let earliest = from.addingTimeInterval(-LessonRules.longest)
        let rows = try await database.query(
            """
            WITH window_lessons AS (
                SELECT l.id, l.course_id, lower(l.during) AS starts_at, upper(l.during) AS ends_at
                FROM scheduling.lessons l
                WHERE l.state = 'scheduled' AND l.during && tstzrange(\(from), \(to)) AND lower(l.during) >= \(earliest)
            ), class_sizes AS MATERIALIZED (
                -- Computed once: left inline, the planner re-counted every class for each seat.
                SELECT u.class_id, count(*) AS students FROM scheduling.users u
                WHERE u.role = 'student' AND u.active
                  AND u.class_id IN (SELECT cc.class_id FROM window_lessons w JOIN scheduling.course_classes cc ON cc.course_id = w.course_id)
                GROUP BY u.class_id
            ), counted AS (
                SELECT w.id, s.region, z.students
                FROM window_lessons w JOIN scheduling.course_classes cc ON cc.course_id = w.course_id
                JOIN class_sizes z ON z.class_id = cc.class_id
                JOIN scheduling.classes k ON k.id = cc.class_id JOIN scheduling.schools s ON s.id = k.school_id
                UNION ALL
                SELECT w.id, s.region, 1
                FROM window_lessons w JOIN scheduling.course_students cs ON cs.course_id = w.course_id
                JOIN scheduling.users u ON u.id = cs.student_id AND u.active JOIN scheduling.schools s ON s.id = u.school_id
                WHERE NOT EXISTS (SELECT 1 FROM scheduling.course_classes cc WHERE cc.course_id = w.course_id AND cc.class_id = u.class_id)
            )
            SELECT w.id, w.starts_at, w.ends_at, c.region, sum(c.students)::int8
            FROM counted c JOIN window_lessons w ON w.id = c.id
            GROUP BY w.id, w.starts_at, w.ends_at, c.region
            ORDER BY w.starts_at, w.id, c.region
            """,
            idempotent: true,
            logger: context.logger
        )
        var lessons: [ExpectedAudience.LessonAudience] = []
        for row in rows {
            let (id, startsAt, endsAt, region, students) = try row.decode((UUID, Date, Date, String, Int64).self)
            let count = ExpectedAudience.RegionCount(region: region, students: Int(students))
            if lessons.last?.lessonID == id {
                lessons[lessons.count - 1].regions.append(count)
            } else {
                lessons.append(.init(lessonID: id, startsAt: startsAt, endsAt: endsAt, regions: [count]))
            }
        }
        return InternalMessage(ExpectedAudience(from: from, to: to, lessons: lessons))
    }
}
