import Foundation
import Hummingbird
import InternalProtocol
import ServiceKit

/// The thresholds that judge attendance: per course (its teacher, administrators), and per
/// lesson over its course's; what is not set falls back to the course's, then the defaults.
struct RulesController: Sendable {
    let records: LessonRecords
    var store: RecordStore { records.store }

    struct RulesBody: Decodable {
        var watched_percent: Int
        var late_minutes: Int
    }

    struct CourseRules: ResponseEncodable {
        var course_id: UUID
        var watched_percent: Int
        var late_minutes: Int
        /// `course` when the course has rules of its own, else `defaults`.
        var source: RulesSource
    }

    struct LessonRules: ResponseEncodable {
        var lesson_id: UUID
        var course_id: UUID
        var watched_percent: Int
        var late_minutes: Int
        var source: RulesSource
    }

    func register(on routes: RouteTable) {
        let staff = Callers.users(.teacher, .admin)
        routes.get("/api/v1/attendance/courses/:id/rules", for: staff, use: courseRules)
        routes.put("/api/v1/attendance/courses/:id/rules", for: staff, use: setCourseRules)
        routes.get("/api/v1/attendance/lessons/:id/rules", for: staff, use: lessonRules)
        routes.put("/api/v1/attendance/lessons/:id/rules", for: staff, use: setLessonRules)
        routes.delete("/api/v1/attendance/lessons/:id/rules", for: staff, use: removeLessonRules)
    }

    @Sendable func courseRules(_ request: Request, context: CallerContext<Identity>) async throws -> CourseRules {
        let course = try await authorisedCourse(context)
        return try await currentRules(of: course, context: context)
    }

    @Sendable func setCourseRules(_ request: Request, context: CallerContext<Identity>) async throws -> CourseRules {
        let course = try await authorisedCourse(context)
        let rules = try await checkedRules(request, context: context)
        try await store.setRules(rules, for: .course(course), by: context.caller.userID, logger: context.logger)
        return try await currentRules(of: course, context: context)
    }

    @Sendable func lessonRules(_ request: Request, context: CallerContext<Identity>) async throws -> LessonRules {
        try await currentRules(of: try await authorisedLesson(context), context: context)
    }

    @Sendable func setLessonRules(_ request: Request, context: CallerContext<Identity>) async throws -> LessonRules {
        let lesson = try await authorisedLesson(context)
        let rules = try await checkedRules(request, context: context)
        try await store.setRules(rules, for: .lesson(lesson.id), by: context.caller.userID, logger: context.logger)
        return try await currentRules(of: lesson, context: context)
    }

    /// The lesson is judged by its course's rules again.
    @Sendable func removeLessonRules(_ request: Request, context: CallerContext<Identity>) async throws -> LessonRules {
        let lesson = try await authorisedLesson(context)
        try await store.removeRules(.lesson(lesson.id), logger: context.logger)
        return try await currentRules(of: lesson, context: context)
    }

    private func checkedRules(_ request: Request, context: CallerContext<Identity>) async throws -> AttendanceRules {
        let body = try await request.decodeJSON(as: RulesBody.self, context: context)
        var errors: [Problem.FieldError] = []
        if !AttendanceRules.watchedPercentRange.contains(body.watched_percent) {
            errors.append(.init(field: "watched_percent", message: "must be 1 to 100 (the share of the lesson's minutes to watch)"))
        }
        if !AttendanceRules.lateMinutesRange.contains(body.late_minutes) {
            errors.append(.init(field: "late_minutes", message: "must be 0 to 360"))
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        return AttendanceRules(watchedPercent: body.watched_percent, lateMinutes: body.late_minutes)
    }

    private func currentRules(of course: UUID, context: CallerContext<Identity>) async throws -> CourseRules {
        let stored = try await store.storedRules(.course(course), logger: context.logger)
        let rules = stored ?? .defaults
        return CourseRules(course_id: course, watched_percent: rules.watchedPercent, late_minutes: rules.lateMinutes, source: stored == nil ? .defaults : .course)
    }

    private func currentRules(of lesson: LessonInfo, context: CallerContext<Identity>) async throws -> LessonRules {
        let (rules, source) = try await store.rules(for: lesson, logger: context.logger)
        return LessonRules(lesson_id: lesson.id, course_id: lesson.courseID, watched_percent: rules.watchedPercent, late_minutes: rules.lateMinutes, source: source)
    }

    /// The course's teacher and administrators may; for anyone else it does not exist.
    private func authorisedCourse(_ context: CallerContext<Identity>) async throws -> UUID {
        let id = try context.parameters.uuid("id")
        guard let course = try await records.scheduling.course(id, requestID: context.requestID, logger: context.logger),
            context.caller.role == .admin || course.teacherID == context.caller.userID
        else { throw Problem.notFound("No course of yours has id \(id.lowercased).") }
        return course.id
    }

    private func authorisedLesson(_ context: CallerContext<Identity>) async throws -> LessonInfo {
        try await records.lesson(try context.parameters.uuid("id"), for: context.caller, requestID: context.requestID, logger: context.logger)
    }
}
