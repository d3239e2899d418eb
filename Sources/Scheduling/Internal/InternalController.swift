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

/// An internal-protocol message as a response body.
struct InternalMessage<Message: Encodable & Sendable>: ResponseGenerator {
    let message: Message
    init(_ message: Message) { self.message = message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.internalProtocolEncoder.encode(message)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension JSONEncoder {
    static var internalProtocolEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
