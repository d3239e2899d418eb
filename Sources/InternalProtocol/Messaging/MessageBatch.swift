import Foundation
import ServiceKit

/// A message one service's outbox carries to another: what the receiver applies idempotently,
/// by `id`.
public protocol OutboxMessage: Codable, Sendable {
    /// Names the message on the wire and in subscriptions (`lesson.changed`).
    static var kind: String { get }
}

/// One delivered message: its id (the receiver's idempotency key), kind, sender and body.
public struct MessageEnvelope: Codable, Sendable, Equatable {
    public var id: UUID
    public var kind: String
    public var sender: String
    public var createdAt: Date
    public var payload: JSONValue

    public init(id: UUID, kind: String, sender: String, createdAt: Date, payload: JSONValue) {
        self.id = id
        self.kind = kind
        self.sender = sender
        self.createdAt = createdAt
        self.payload = payload
    }

    /// The body as the message type it is.
    public func decode<M: OutboxMessage>(_ type: M.Type) throws -> M {
        try JSONDecoder.internalProtocol.decode(M.self, from: JSONEncoder.internalProtocol.encode(payload))
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, sender, payload
        case createdAt = "created_at"
    }
}

/// `POST /internal/v1/messages`: a batch from one sender's outbox, oldest first.
public struct MessageBatch: Codable, Sendable {
    public var messages: [MessageEnvelope]
    public init(messages: [MessageEnvelope]) { self.messages = messages }
}

/// The answer: the messages applied now or before (the sender deletes them) and those that
/// failed (the sender tries them again later).
public struct MessageReceipt: Codable, Sendable, Equatable {
    public var acknowledged: [UUID]
    public var failed: [UUID]
    public init(acknowledged: [UUID], failed: [UUID]) {
        self.acknowledged = acknowledged
        self.failed = failed
    }
}
