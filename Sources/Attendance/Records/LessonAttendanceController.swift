import Foundation
import Hummingbird
import InternalProtocol
import ServiceKit

/// A lesson's attendance for its teacher and administrators: the report (JSON or CSV), the
/// teacher's overrides, and who is watching now.
struct LessonAttendanceController: Sendable {
    let config: AttendanceConfig
    let records: LessonRecords
    var store: RecordStore { records.store }

    struct OverrideBody: Decodable {
        var status: String
        var note: String?
    }

    struct Viewer: Encodable {
        var student_id: UUID
        var display_name: String
        var class_name: String?
        var first_join: Date
        var last_seen: Date
    }

    struct Viewers: ResponseEncodable {
        var lesson_id: UUID
        /// Viewers who beat within this many seconds count as watching.
        var idle_seconds: Int
        var watching: Int
        var viewers: [Viewer]
    }

    static let noteRule = TextRule(scalars: 0...1000, allowsLineBreaks: true)

    func register(on routes: RouteTable) {
        let staff = Callers.users(.teacher, .admin)
        routes.get("/api/v1/lessons/:id/attendance", for: staff, use: report)
        routes.put("/api/v1/lessons/:id/attendance/:student_id", for: staff, use: setOverride)
        routes.delete("/api/v1/lessons/:id/attendance/:student_id", for: staff, use: removeOverride)
        routes.get("/api/v1/lessons/:id/viewers", for: staff, use: viewers)
    }

    @Sendable func report(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let lesson = try context.parameters.uuid("id")
        let report = try await build(try await resolve(lesson, context: context), context: context)
        if request.acceptsCSV { return report.csv.response(filename: report.csvFilename) }
        return try report.response(from: request, context: context)
    }

    @Sendable func setOverride(_ request: Request, context: CallerContext<Identity>) async throws -> LessonReport.Row {
        let (lesson, pupil) = (try context.parameters.uuid("id"), try context.parameters.uuid("student_id"))
        let body = try await request.decodeJSON(as: OverrideBody.self, context: context)
        var errors: [Problem.FieldError] = []
        let status = AttendanceStatus(rawValue: body.status)
        if status == nil {
            errors.append(.init(field: "status", message: "must be one of \(AttendanceStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let note = Self.noteRule.check(body.note ?? "", field: "note", into: &errors)
        guard errors.isEmpty, let status, let note else { throw Problem.invalid(errors) }
        return try await changeOverride(lesson, pupil, to: status, note: note, context: context)
    }

    /// The override is taken back: the computed status holds again (the history keeps both).
    @Sendable func removeOverride(_ request: Request, context: CallerContext<Identity>) async throws -> LessonReport.Row {
        let (lesson, pupil) = (try context.parameters.uuid("id"), try context.parameters.uuid("student_id"))
        return try await changeOverride(lesson, pupil, to: nil, note: "", context: context)
    }

    @Sendable func viewers(_ request: Request, context: CallerContext<Identity>) async throws -> Viewers {
        let lesson = try context.parameters.uuid("id")
        let roll = try await resolve(lesson, context: context).roll
        let idle = Int(config.idleTimeout.inSeconds)
        let pupils = Dictionary(roll.pupils.map { ($0.studentID, $0) }, uniquingKeysWith: { first, _ in first })
        let watching = try await store.watching(lesson, since: Date().addingTimeInterval(-Double(idle)), logger: context.logger)
        let viewers = watching.compactMap { viewer in
            // A pupil taken off the course since joining is not shown by name.
            pupils[viewer.pupil].map {
                Viewer(student_id: $0.studentID, display_name: $0.displayName, class_name: $0.className, first_join: viewer.firstBeatAt, last_seen: viewer.lastBeatAt)
            }
        }
        return Viewers(lesson_id: lesson, idle_seconds: idle, watching: viewers.count, viewers: viewers)
    }

    private func changeOverride(
        _ lesson: UUID, _ pupil: UUID, to status: AttendanceStatus?, note: String, context: CallerContext<Identity>
    ) async throws -> LessonReport.Row {
        let notOnRoll = Problem.notFound("No pupil with id \(pupil.lowercased) is on the roll of lesson \(lesson.lowercased).")
        let resolved = try await resolve(lesson, context: context)
        guard resolved.roll.pupils.contains(where: { $0.studentID == pupil }) else { throw notOnRoll }
        try await store.override(lesson: lesson, pupil: pupil, status: status, note: note, by: context.caller.userID, logger: context.logger)
        context.logger.notice(
            "attendance override", metadata: ["lesson_id": "\(lesson.lowercased)", "student_id": "\(pupil.lowercased)", "status": "\(status?.rawValue ?? "taken back")"]
        )
        let report = try await build(resolved, context: context)
        guard let row = report.students.first(where: { $0.student_id == pupil }) else { throw notOnRoll }
        return row
    }

    private func resolve(_ lesson: UUID, context: CallerContext<Identity>) async throws -> LessonRecords.Resolved {
        try await records.roll(of: lesson, for: context.caller, requestID: context.requestID, logger: context.logger)
    }

    private func build(_ resolved: LessonRecords.Resolved, context: CallerContext<Identity>) async throws -> LessonReport {
        let (rules, source) = try await store.rules(for: resolved.roll.lesson, logger: context.logger)
        return LessonReport(
            roll: resolved.roll, kept: resolved.kept,
            sessions: try await store.sessions(of: [resolved.roll.lesson.id], logger: context.logger),
            overrides: try await store.overrides(of: [resolved.roll.lesson.id], logger: context.logger),
            rules: rules, source: source, watchedSecondsPerMinute: config.watchedSecondsPerMinute
        )
    }
}
