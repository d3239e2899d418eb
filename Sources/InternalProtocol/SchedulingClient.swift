import Foundation
import Logging

/// The scheduling service's internal endpoints, typed.
public struct SchedulingClient: Sendable {
    let client: InternalClient
    let base: URL

    public init(client: InternalClient, base: URL) {
        self.client = client
        self.base = base
    }

    /// The user with `id`, or nil when there is none.
    public func user(_ id: UUID, requestID: String?, logger: Logger) async throws -> UserInfo? {
        do {
            return try await client.get(base, InternalRoutes.user(id), as: UserInfo.self, requestID: requestID, logger: logger).message
        } catch InternalCallError.problem(status: 404, _) {
            return nil
        }
    }
}
