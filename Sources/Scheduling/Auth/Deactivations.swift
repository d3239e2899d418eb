import Foundation
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import Store

/// Who was deactivated since a time, from scheduling's own table: scheduling's list of refused
/// tokens is refreshed from it, and the internal endpoint serves it to the other services.
struct Deactivations: DeactivationSource {
    let database: Database

    func deactivated(since: Date, logger: Logger) async throws -> [DeactivatedUser] {
        let rows = try await database.query(
            """
            SELECT id, deactivated_at FROM scheduling.users
            WHERE deactivated_at >= \(since) ORDER BY deactivated_at LIMIT \(DeactivatedUsersPage.limit)
            """,
            idempotent: true,
            logger: logger
        )
        return try rows.map { row in
            let (id, at) = try row.decode((UUID, Date).self)
            return DeactivatedUser(userID: id, deactivatedAt: at)
        }
    }
}
