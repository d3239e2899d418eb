import Foundation
import InternalProtocol
import Logging
import ServiceKit

/// A lesson's roll as a report reads it: the copy kept when it ended, else scheduling's live
/// roll (a lesson on air, or one that ended moments ago and is kept now). Only the lesson's
/// teacher and administrators may see it; for anyone else it does not exist.
struct LessonRecords: Sendable {
    let store: RecordStore
    let scheduling: SchedulingClient

    struct Resolved: Sendable {
        var roll: LessonRoll
        /// The roll is the one kept at the lesson's end (no later roster change touches it).
        var kept: Bool
    }

    func roll(of lesson: UUID, for caller: Identity, requestID: String?, logger: Logger) async throws -> Resolved {
        if let kept = try await store.keptRoll(lesson, logger: logger) {
            try Self.authorise(kept.lesson, caller)
            return Resolved(roll: kept, kept: true)
        }
        guard let live = try await scheduling.roll(lesson, requestID: requestID, logger: logger) else { throw Self.notFound(lesson) }
        try Self.authorise(live.lesson, caller)
        guard live.lesson.state == LessonInfo.scheduled, live.lesson.endsAt <= Date() else { return Resolved(roll: live, kept: false) }
        // Ended but not kept yet (the keeper walks every few seconds): keep it now, so what this
        // report shows is what every later one shows. A roll kept meanwhile by the keeper stands.
        try await store.keep([live], advancing: nil, logger: logger)
        return Resolved(roll: try await store.keptRoll(lesson, logger: logger) ?? live, kept: true)
    }

    /// The lesson's facts for its rules: kept, else scheduling's.
    func lesson(_ id: UUID, for caller: Identity, requestID: String?, logger: Logger) async throws -> LessonInfo {
        let lesson: LessonInfo
        if let kept = try await store.keptLesson(id, logger: logger) {
            lesson = kept
        } else if let live = try await scheduling.lesson(id, requestID: requestID, logger: logger) {
            lesson = live
        } else {
            throw Self.notFound(id)
        }
        try Self.authorise(lesson, caller)
        return lesson
    }

    static func authorise(_ lesson: LessonInfo, _ caller: Identity) throws {
        guard caller.role == .admin || caller.userID == lesson.teacherID else { throw notFound(lesson.id) }
    }

    static func notFound(_ lesson: UUID) -> Problem {
        Problem.notFound("No lesson of yours has id \(lesson.lowercased).")
    }
}
