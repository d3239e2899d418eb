import Foundation
import Hummingbird
import InternalProtocol
import Logging
import ServiceKit

/// The scheduling service's side of the internal protocol.
struct InternalController: Sendable {
    let store: AuthStore

    func register(on routes: RouteTable<AppRequestContext>) {
        routes.get(InternalRoutes.userPattern, use: user)
    }

    @Sendable func user(_ request: Request, context: AppRequestContext) async throws -> InternalMessage<UserInfo> {
        try context.requireServiceCaller()
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
}
