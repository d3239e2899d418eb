import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Writes what this service must tell others into its outbox table, inside the caller's
/// transaction: the message exists exactly when the change it reports was committed. The relay
/// delivers it afterwards, retrying until the receiver acknowledges.
public struct Outbox: Sendable {
    let schema: String
    let subscribers: [String: [ServiceName]]

    public init(settings: ServiceSettings) {
        self.schema = settings.service.rawValue
        self.subscribers = settings.subscribers
    }

    /// Queues `messages` for every service subscribed to their kind (none: nothing is written).
    public func post<M: OutboxMessage>(_ messages: [M], on connection: PostgresConnection, logger: Logger) async throws {
        let destinations = subscribers[M.kind] ?? []
        guard !destinations.isEmpty, !messages.isEmpty else { return }
        var ids: [UUID] = []
        var targets: [String] = []
        var payloads: [String] = []
        for message in messages {
            let payload = String(decoding: try JSONEncoder.internalProtocol.encode(message), as: UTF8.self)
            for destination in destinations {
                ids.append(UUID())
                targets.append(destination.rawValue)
                payloads.append(payload)
            }
        }
        try await connection.query(
            """
            INSERT INTO \(unescaped: schema).outbox (id, destination, kind, payload)
            SELECT id, destination, \(M.kind), payload::jsonb FROM unnest(\(ids)::uuid[], \(targets)::text[], \(payloads)::text[]) AS m(id, destination, payload)
            """,
            logger: logger
        )
    }
}
