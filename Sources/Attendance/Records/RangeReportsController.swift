import Foundation
import Hummingbird
import InternalProtocol
import ServiceKit

/// Records over a range of days: a pupil's lessons (the pupil, the teachers of those lessons,
/// administrators) and a class's attendance rate (the teachers of its lessons, administrators),
/// as JSON or CSV. Only kept lessons count: a range report is of lessons that have ended.
struct RangeReportsController: Sendable {
    let records: RangeRecords

    /// Without `from`, the last 30 days; a window spans at most a year and a day.
    static let defaultDays = 30
    static let longestDays = 366

    struct PupilRecord: ResponseEncodable {
        struct Lesson: Encodable {
            var lesson_id: UUID
            var course_id: UUID
            var title: String
            var starts_at: Date
            var ends_at: Date
            var lesson_minutes: Int
            var class_name: String?
            var status: AttendanceStatus
            var computed_status: AttendanceStatus
            var minutes_watched: Int
            var first_join: Date?
            var last_seen: Date?
            var override: LessonReport.Override?
        }
        var student_id: UUID
        var display_name: String?
        var from: Date
        var to: Date
        var counts: StatusCounts
        /// Present or late over the lessons not excused; absent when there is none.
        var attendance_rate: Double?
        var minutes_watched: Int
        var lessons: [Lesson]
    }

    struct ClassRecord: ResponseEncodable {
        struct Pupil: Encodable {
            var student_id: UUID
            var display_name: String
            var counts: StatusCounts
            var attendance_rate: Double?
            var minutes_watched: Int
        }
        struct Lesson: Encodable {
            var lesson_id: UUID
            var title: String
            var starts_at: Date
            var counts: StatusCounts
            var attendance_rate: Double?
        }
        var class_id: UUID
        var class_name: String?
        var from: Date
        var to: Date
        var counts: StatusCounts
        var attendance_rate: Double?
        var students: [Pupil]
        var lessons: [Lesson]
    }

    func register(on routes: RouteTable) {
        routes.get("/api/v1/attendance/students/:id", for: .signedIn, use: pupil)
        routes.get("/api/v1/attendance/classes/:id", for: .users(.teacher, .admin), use: schoolClass)
    }

    @Sendable func pupil(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let caller = context.caller
        let window = try Self.window(request)
        let teacher = caller.role == .teacher ? caller.userID : nil
        guard caller.role != .student || caller.userID == id,
            try await records.exists(.pupil(id), teacher: teacher, logger: context.logger)
        else { throw Problem.notFound("No attendance record of a pupil with id \(id.lowercased) is within your reach.") }
        let seats = try await records.judged(.pupil(id), in: window, teacher: teacher, logger: context.logger)
        var counts = StatusCounts()
        for seat in seats { counts.count(seat.standing.status) }
        let report = PupilRecord(
            student_id: id, display_name: seats.last?.pupil.displayName, from: window.from, to: window.to, counts: counts,
            attendance_rate: counts.attendanceRate, minutes_watched: seats.reduce(0) { $0 + $1.standing.watched.minutesWatched },
            lessons: seats.map { seat in
                PupilRecord.Lesson(
                    lesson_id: seat.lesson.id, course_id: seat.lesson.courseID, title: seat.lesson.title, starts_at: seat.lesson.startsAt,
                    ends_at: seat.lesson.endsAt, lesson_minutes: seat.standing.watched.lessonMinutes, class_name: seat.pupil.className,
                    status: seat.standing.status, computed_status: seat.standing.computed, minutes_watched: seat.standing.watched.minutesWatched,
                    first_join: seat.standing.firstJoin, last_seen: seat.standing.lastSeen, override: seat.standing.override.map(LessonReport.Override.init)
                )
            }
        )
        guard request.acceptsCSV else { return try report.response(from: request, context: context) }
        var file = SpreadsheetCSV(header: [
            "lesson_id", "starts_at", "title", "class_name", "status", "computed_status", "minutes_watched", "lesson_minutes", "first_join", "last_seen",
            "override_note",
        ])
        for lesson in report.lessons {
            file.append([
                lesson.lesson_id.lowercased, RFC3339.format(lesson.starts_at), lesson.title, lesson.class_name ?? "", lesson.status.rawValue,
                lesson.computed_status.rawValue, "\(lesson.minutes_watched)", "\(lesson.lesson_minutes)", lesson.first_join.map(RFC3339.format) ?? "",
                lesson.last_seen.map(RFC3339.format) ?? "", lesson.override?.note ?? "",
            ])
        }
        return file.response(filename: "attendance-pupil-\(id.lowercased.prefix(8)).csv")
    }

    @Sendable func schoolClass(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let window = try Self.window(request)
        let teacher = context.caller.role == .teacher ? context.caller.userID : nil
        guard try await records.exists(.schoolClass(id), teacher: teacher, logger: context.logger) else {
            throw Problem.notFound("No attendance record of a class with id \(id.lowercased) is within your reach.")
        }
        let seats = try await records.judged(.schoolClass(id), in: window, teacher: teacher, logger: context.logger)
        var total = StatusCounts()
        var pupils: [UUID: (name: String, counts: StatusCounts, minutes: Int)] = [:]
        var lessons: [UUID: (lesson: LessonInfo, counts: StatusCounts)] = [:]
        for seat in seats {
            let status = seat.standing.status
            total.count(status)
            // Seats come in lesson order: the name a pupil has is the latest roll's.
            var pupil = pupils[seat.pupil.studentID] ?? (seat.pupil.displayName, StatusCounts(), 0)
            pupil.name = seat.pupil.displayName
            pupil.counts.count(status)
            pupil.minutes += seat.standing.watched.minutesWatched
            pupils[seat.pupil.studentID] = pupil
            lessons[seat.lesson.id, default: (seat.lesson, StatusCounts())].counts.count(status)
        }
        let report = ClassRecord(
            class_id: id, class_name: seats.last?.pupil.className, from: window.from, to: window.to, counts: total,
            attendance_rate: total.attendanceRate,
            students: pupils.map { id, pupil in
                ClassRecord.Pupil(student_id: id, display_name: pupil.name, counts: pupil.counts, attendance_rate: pupil.counts.attendanceRate, minutes_watched: pupil.minutes)
            }.sorted { ($0.display_name, $0.student_id.lowercased) < ($1.display_name, $1.student_id.lowercased) },
            lessons: lessons.values.map { lesson, counts in
                ClassRecord.Lesson(lesson_id: lesson.id, title: lesson.title, starts_at: lesson.startsAt, counts: counts, attendance_rate: counts.attendanceRate)
            }.sorted { ($0.starts_at, $0.lesson_id.lowercased) < ($1.starts_at, $1.lesson_id.lowercased) }
        )
        guard request.acceptsCSV else { return try report.response(from: request, context: context) }
        var file = SpreadsheetCSV(header: [
            "student_id", "display_name", "lessons", "present", "late", "partial", "absent", "excused", "attendance_rate", "minutes_watched",
        ])
        for pupil in report.students {
            let counts = pupil.counts
            file.append([
                pupil.student_id.lowercased, pupil.display_name, "\(counts.total)", "\(counts.present)", "\(counts.late)", "\(counts.partial)",
                "\(counts.absent)", "\(counts.excused)", pupil.attendance_rate.map { "\($0)" } ?? "", "\(pupil.minutes_watched)",
            ])
        }
        return file.response(filename: "attendance-class-\(id.lowercased.prefix(8)).csv")
    }

    static func window(_ request: Request) throws -> TimeWindow {
        var errors: [Problem.FieldError] = []
        let defaultFrom = TimeWindow.startOfToday().addingTimeInterval(-Double(defaultDays - 1) * 86_400)
        let window = TimeWindow.read(request, defaultFrom: defaultFrom, defaultDays: defaultDays, longestDays: longestDays, into: &errors)
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        return window
    }
}
