import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Store

/// The fleet's lasting half: edges and every change to them.
struct EdgeStore: Sendable {
    let database: Database

    static let columns = "id, name, base_url, network, region, capacity_mbps, admin_state, report_token_hash, created_at, updated_at"

    static func edge(from row: PostgresRow) throws -> (Edge, Data) {
        let (id, name, baseURL, network, region, capacity, state, hash, created, updated) = try row.decode(
            (UUID, String, String, String, String, Double, String, Data, Date, Date).self
        )
        let edge = Edge(
            id: id, name: name, baseURL: baseURL, network: Network(rawValue: network) ?? .telecom, region: region, capacityMbps: capacity,
            adminState: AdminState(rawValue: state) ?? .cordoned, createdAt: created, updatedAt: updated
        )
        return (edge, hash)
    }

    func all(logger: Logger) async throws -> [(Edge, Data)] {
        try await database.query("SELECT \(unescaped: Self.columns) FROM bandwidth.edges", idempotent: true, logger: logger).map(Self.edge(from:))
    }

    func insert(_ edge: Edge, tokenHash: Data, by user: UUID, logger: Logger) async throws {
        try await database.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO bandwidth.edges (id, name, base_url, network, region, capacity_mbps, admin_state, report_token_hash, created_at, updated_at)
                VALUES (\(edge.id), \(edge.name), \(edge.baseURL), \(edge.network.rawValue), \(edge.region), \(edge.capacityMbps),
                        \(edge.adminState.rawValue), \(tokenHash), \(edge.createdAt), \(edge.updatedAt))
                """,
                logger: logger
            )
            try await Self.record(edge.id, by: user, change: "created", reason: nil, on: connection, logger: logger)
        }
    }

    /// Writes the edge as it now is and the change that made it so; nil when there is no such edge.
    func update(_ edge: Edge, tokenHash: Data? = nil, by user: UUID?, change: String, reason: String?, logger: Logger) async throws -> Bool {
        try await database.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE bandwidth.edges SET name = \(edge.name), base_url = \(edge.baseURL), capacity_mbps = \(edge.capacityMbps),
                    admin_state = \(edge.adminState.rawValue), report_token_hash = coalesce(\(tokenHash), report_token_hash), updated_at = \(edge.updatedAt)
                WHERE id = \(edge.id) RETURNING 1
                """,
                logger: logger
            ).collect()
            guard !rows.isEmpty else { return false }
            try await Self.record(edge.id, by: user, change: change, reason: reason, on: connection, logger: logger)
            return true
        }
    }

    func delete(_ id: UUID, by user: UUID, logger: Logger) async throws -> Bool {
        try await database.withTransaction(logger: logger) { connection in
            let rows = try await connection.query("DELETE FROM bandwidth.edges WHERE id = \(id) RETURNING 1", logger: logger).collect()
            guard !rows.isEmpty else { return false }
            try await Self.record(id, by: user, change: "removed", reason: nil, on: connection, logger: logger)
            return true
        }
    }

    /// What the service decided itself (health from reports), for an edge that still exists: the
    /// share lock waits for a removal under way, after which there is no row and nothing is
    /// recorded, so `removed` stays an edge's last change.
    func recordHealth(_ id: UUID, _ health: Health, reason: String, logger: Logger) async throws {
        try await database.query(
            """
            INSERT INTO bandwidth.edge_changes (edge_id, by_user, change, reason, at)
            SELECT id, NULL, \("health " + health.rawValue), \(reason), clock_timestamp() FROM bandwidth.edges WHERE id = \(id) FOR SHARE
            """,
            idempotent: false,
            logger: logger
        )
    }

    /// Stamped with the time of the insert, not of its transaction's start: a health change
    /// recorded while an administrator's transaction was open comes before it.
    static func record(_ id: UUID, by user: UUID?, change: String, reason: String?, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "INSERT INTO bandwidth.edge_changes (edge_id, by_user, change, reason, at) VALUES (\(id), \(user), \(change), \(reason), clock_timestamp())",
            logger: logger
        )
    }

    struct Change: Encodable, Sendable {
        var at: Date
        var by_user: String?
        var change: String
        var reason: String?
    }

    func changes(_ id: UUID, logger: Logger) async throws -> [Change] {
        try await database.query(
            "SELECT at, by_user, change, reason FROM bandwidth.edge_changes WHERE edge_id = \(id) ORDER BY at, id",
            idempotent: true,
            logger: logger
        ).map { row in
            let (at, user, change, reason) = try row.decode((Date, UUID?, String, String?).self)
            return Change(at: at, by_user: user?.lowercased, change: change, reason: reason)
        }
    }
}
