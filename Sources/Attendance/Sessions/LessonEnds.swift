import Foundation
import Logging
import Store
import Synchronization

/// The lessons over before their scheduled end (cancelled, or ended by broadcast), as every
/// attendance process knows them: read from `attendance.lesson_ends` every few seconds, so a
/// beat learns it without a lookup.
final class LessonEnds: Sendable {
    private let ended = Mutex<Set<UUID>>([])

    func isEnded(_ lesson: UUID) -> Bool { ended.withLock { $0.contains(lesson) } }

    /// Those of the last two days (a lesson is at most a day long; older beats end by their times).
    func refresh(from database: Database, logger: Logger) async throws {
        let lessons = try await database.query(
            "SELECT lesson_id FROM attendance.lesson_ends WHERE ended_at > now() - interval '2 days'", idempotent: true, logger: logger
        ).map { try $0.decode(UUID.self) }
        ended.withLock { $0 = Set(lessons) }
    }
}
