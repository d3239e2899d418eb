import Foundation
import Logging
import ServiceKit

/// The scheduling service's internal endpoints, typed.
public struct SchedulingClient: Sendable {
    let client: InternalClient
    let base: URL

    public init(client: InternalClient, base: URL) {
        self.client = client
        self.base = base
    }

    /// Scheduling where `settings` says it is, over the process's shared HTTP client.
    public init(settings: ServiceSettings) {
        let (client, base) = InternalClient.toward(.scheduling, settings: settings)
        self.init(client: client, base: base)
    }

    /// The user with `id`, or nil when there is none.
    public func user(_ id: UUID, requestID: String?, logger: Logger) async throws -> UserInfo? {
        do {
            return try await client.get(base, InternalRoutes.user(id), as: UserInfo.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }

    /// The lesson with `id`, or nil when there is none.
    public func lesson(_ id: UUID, requestID: String?, logger: Logger) async throws -> LessonInfo? {
        do {
            return try await client.get(base, InternalRoutes.lesson(id), as: LessonInfo.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }

    /// Whether `student` may watch `lesson` (nil when the lesson does not exist).
    public func viewing(lesson: UUID, student: UUID, requestID: String?, logger: Logger) async throws -> ViewingPermission? {
        do {
            return try await client.get(base, InternalRoutes.viewing(lesson: lesson, student: student), as: ViewingPermission.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }

    /// The course with `id`, or nil when there is none.
    public func course(_ id: UUID, requestID: String?, logger: Logger) async throws -> CourseInfo? {
        do {
            return try await client.get(base, InternalRoutes.course(id), as: CourseInfo.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }

    /// The lesson with `id` and the pupils who should be at it, or nil when there is none.
    public func roll(_ lesson: UUID, requestID: String?, logger: Logger) async throws -> LessonRoll? {
        do {
            return try await client.get(base, InternalRoutes.roll(lesson), as: LessonRoll.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }

    /// The rolls of lessons that ended after `cursor` and by `until` (a page of them).
    public func endedRolls(after cursor: EndedLessonsCursor, until: Date, logger: Logger) async throws -> EndedLessonRolls {
        try await client.get(base, InternalRoutes.endedRolls(after: cursor, until: until), as: EndedLessonRolls.self, requestID: nil, logger: logger).message
    }

    /// The students expected at the lessons overlapping `[from, to)`, by region.
    public func audience(from: Date, to: Date, requestID: String?, logger: Logger) async throws -> ExpectedAudience {
        try await client.get(base, InternalRoutes.audience(from: from, to: to), as: ExpectedAudience.self, requestID: requestID, logger: logger).message
    }
}

/// Every service but scheduling learns of deactivations this way.
extension SchedulingClient: DeactivationSource {
    public func deactivated(since: Date, logger: Logger) async throws -> [DeactivatedUser] {
        try await client.get(base, InternalRoutes.deactivatedUsers(since: since), as: DeactivatedUsersPage.self, requestID: nil, logger: logger).message.users
    }
}
