import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// The receiving end of other services' outboxes, `POST /internal/v1/messages`: each message is
/// applied in a transaction together with its id going into the inbox, so a redelivered message
/// is acknowledged without being applied again, and a message is never half applied.
public struct Inbox: Sendable {
    /// Applies one message inside the receiver's transaction.
    public typealias Handler = @Sendable (MessageEnvelope, PostgresConnection, Logger) async throws -> Void

    let database: Database
    let schema: String
    let handlers: [String: Handler]

    public init(settings: ServiceSettings, database: Database, handlers: [String: Handler]) {
        self.database = database
        self.schema = settings.service.rawValue
        self.handlers = handlers
    }

    public func register(on routes: RouteTable) {
        routes.post(InternalRoutes.messages, for: .services, use: receive)
    }

    @Sendable func receive(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<MessageReceipt> {
        let batch = try await request.decodeJSON(as: MessageBatch.self, context: context, reading: .tolerant)
        var acknowledged: [UUID] = []
        var failed: [UUID] = []
        for message in batch.messages {
            guard let handler = handlers[message.kind] else {
                // A kind nobody here handles is a subscription mistake: it stays in the sender's
                // outbox, visible in its metrics, rather than being dropped.
                context.logger.error("message of an unhandled kind", metadata: ["kind": "\(message.kind)", "sender": "\(message.sender)"])
                failed.append(message.id)
                continue
            }
            do {
                try await database.withTransaction(logger: context.logger, idempotent: true) { connection in
                    let fresh = try await connection.query(
                        """
                        INSERT INTO \(unescaped: schema).inbox (message_id, sender, kind) VALUES (\(message.id), \(message.sender), \(message.kind))
                        ON CONFLICT (message_id) DO NOTHING RETURNING 1
                        """,
                        logger: context.logger
                    ).collect()
                    if !fresh.isEmpty { try await handler(message, connection, context.logger) }
                }
                acknowledged.append(message.id)
            } catch {
                context.logger.warning("message not applied", metadata: ["id": "\(message.id)", "kind": "\(message.kind)", "error": "\(error)"])
                failed.append(message.id)
            }
        }
        return InternalMessage(MessageReceipt(acknowledged: acknowledged, failed: failed))
    }
}
