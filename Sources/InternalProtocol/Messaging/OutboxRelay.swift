import Foundation
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Store
import Synchronization

/// Delivers a service's outbox: per destination, the due messages oldest first in batches over
/// the internal protocol; acknowledged ones are deleted, the rest tried again with a growing
/// delay (0.5 s doubling to 60 s) until they are. Nothing is lost while a receiver is down: the
/// rows wait in the sender's database. A message may arrive twice (a receipt lost on the way, two
/// processes of one service relaying), which receivers absorb by message id.
public final class OutboxRelay: Service, Sendable {
    public struct Policy: Sendable {
        public var batchSize = 200
        /// How often an idle relay looks for new rows.
        public var pollInterval: Duration = .milliseconds(250)
        public var firstRetry: Double = 0.5
        public var longestRetry: Double = 60
        public init() {}
    }

    let database: Database
    let client: InternalClient
    let sender: ServiceName
    let peers: [ServiceName: URL]
    let destinations: [ServiceName]
    let policy: Policy
    let logger: Logger
    private let figures = Mutex<(depth: Int, oldestAge: Double)>((0, 0))

    public init(settings: ServiceSettings, database: Database, client: InternalClient, policy: Policy = Policy(), logger: Logger) {
        self.database = database
        self.client = client
        self.sender = settings.service
        self.peers = settings.peers
        self.destinations = Array(Set(settings.subscribers.values.joined())).sorted { $0.rawValue < $1.rawValue }
        self.policy = policy
        self.logger = logger
    }

    /// `/metrics`: undelivered messages and the age of the oldest, as of the last pass.
    public var gauges: [ServiceMetrics.SampledGauge] {
        [
            .init("cloudclass_outbox_depth", help: "Outbox messages not yet acknowledged") { [self] in Double(self.figures.withLock { $0.depth }) },
            .init("cloudclass_outbox_oldest_age_seconds", help: "Age of the oldest unacknowledged outbox message") { [self] in
                self.figures.withLock { $0.oldestAge }
            },
        ]
    }

    public func run() async throws {
        // Nobody subscribes to what this service sends: nothing is ever written to relay.
        guard !destinations.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let delivered = await self.deliverDue()
                if delivered == 0 { try? await Task.sleep(for: self.policy.pollInterval) }
            }
        }
    }

    /// One pass: every destination's due messages, batch after batch until none is due. Returns
    /// how many were acknowledged. Tests call it to drain the outbox on demand.
    @discardableResult
    public func deliverDue() async -> Int {
        var delivered = 0
        for destination in destinations {
            while true {
                do {
                    let (acknowledged, full) = try await deliverBatch(to: destination)
                    delivered += acknowledged
                    if !full || acknowledged == 0 { break }
                } catch {
                    logger.warning("outbox relay pass failed", metadata: ["destination": "\(destination.rawValue)", "error": "\(error)"])
                    break
                }
            }
        }
        await measure()
        return delivered
    }

    /// Sends one batch; returns how many the receiver acknowledged and whether the batch was full.
    func deliverBatch(to destination: ServiceName) async throws -> (Int, Bool) {
        let schema = sender.rawValue
        let rows = try await database.query(
            """
            SELECT id, kind, created_at, payload::text FROM \(unescaped: schema).outbox
            WHERE destination = \(destination.rawValue) AND next_attempt_at <= now()
            ORDER BY seq LIMIT \(policy.batchSize)
            """,
            idempotent: true,
            logger: logger
        )
        guard !rows.isEmpty else { return (0, false) }
        var envelopes: [MessageEnvelope] = []
        for row in rows {
            let (id, kind, createdAt, payload) = try row.decode((UUID, String, Date, String).self)
            let body = try JSONDecoder.internalProtocol.decode(JSONValue.self, from: Data(payload.utf8))
            envelopes.append(MessageEnvelope(id: id, kind: kind, sender: sender.rawValue, createdAt: createdAt, payload: body))
        }
        let all = envelopes.map(\.id)
        var acknowledged: [UUID] = []
        var failure = "not acknowledged"
        if let base = peers[destination] {
            do {
                let receipt = try await client.post(
                    base, InternalRoutes.messages, body: MessageBatch(messages: envelopes), as: MessageReceipt.self,
                    idempotent: true, requestID: nil, logger: logger
                ).message
                let sent = Set(all)
                acknowledged = receipt.acknowledged.filter(sent.contains)
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "no address for \(destination.rawValue)"
        }
        let done = Set(acknowledged)
        let pending = all.filter { !done.contains($0) }
        try await database.withTransaction(logger: logger, idempotent: true) { connection in
            if !acknowledged.isEmpty {
                try await connection.query("DELETE FROM \(unescaped: schema).outbox WHERE id = ANY(\(acknowledged)::uuid[])", logger: logger)
            }
            if !pending.isEmpty {
                try await connection.query(
                    """
                    UPDATE \(unescaped: schema).outbox SET attempts = attempts + 1, last_error = \(String(failure.prefix(500))),
                        next_attempt_at = now() + make_interval(secs => least(\(policy.longestRetry), \(policy.firstRetry) * power(2, attempts)))
                    WHERE id = ANY(\(pending)::uuid[])
                    """,
                    logger: logger
                )
            }
        }
        if !pending.isEmpty {
            logger.info("outbox messages not delivered yet", metadata: ["destination": "\(destination.rawValue)", "count": "\(pending.count)", "reason": "\(failure)"])
        }
        return (acknowledged.count, rows.count == policy.batchSize)
    }

    func measure() async {
        do {
            let rows = try await database.query(
                "SELECT count(*)::int8, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM \(unescaped: sender.rawValue).outbox",
                idempotent: true,
                logger: logger
            )
            if let row = rows.first {
                let (depth, age) = try row.decode((Int64, Double).self)
                figures.withLock { $0 = (Int(depth), age) }
            }
        } catch {
            logger.debug("outbox figures not read", metadata: ["error": "\(error)"])
        }
    }
}
