import Foundation
import Logging
import PostgresNIO
import Store

/// The allocations' lasting half (see Migrations/bandwidth/0003): written in batches by the
/// journal's writer, read back once after a restart.
struct AllocationStore: Sendable {
    let database: Database

    /// One transaction: the batch's deletes, then its inserts, each one statement.
    func apply(_ operations: [AllocationOperation], logger: Logger) async throws {
        let (inserts, deletes) = AllocationOperation.net(operations)
        try await database.withTransaction(logger: logger, idempotent: true) { connection in
            if !deletes.isEmpty {
                try await connection.query("DELETE FROM bandwidth.allocations WHERE id = ANY(\(deletes))", logger: logger)
            }
            guard !inserts.isEmpty else { return }
            let ids = inserts.map(\.id), lessons = inserts.map(\.lessonID), edges = inserts.map(\.edgeID)
            let networks = inserts.map(\.network), regions = inserts.map(\.region)
            let asked = inserts.map(\.askedRendition), renditions = inserts.map(\.rendition), bitrates = inserts.map(\.bitrateMbps)
            let replaces = inserts.map { $0.replaces?.uuidString ?? "" }
            try await connection.query(
                """
                INSERT INTO bandwidth.allocations (id, lesson_id, edge_id, network, region, asked_rendition, rendition, bitrate_mbps, replaces)
                SELECT id, lesson, edge, network, region, asked, rendition, bitrate, nullif(replaces, '')::uuid
                FROM unnest(\(ids)::uuid[], \(lessons)::uuid[], \(edges)::uuid[], \(networks)::text[], \(regions)::text[], \(asked)::text[],
                            \(renditions)::text[], \(bitrates)::float8[], \(replaces)::text[])
                     AS t(id, lesson, edge, network, region, asked, rendition, bitrate, replaces)
                ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
        }
    }

    func all(logger: Logger) async throws -> [StoredAllocation] {
        try await database.query(
            "SELECT id, lesson_id, edge_id, network, region, asked_rendition, rendition, bitrate_mbps, replaces FROM bandwidth.allocations ORDER BY created_at",
            idempotent: true,
            logger: logger
        ).map { row in
            let (id, lesson, edge, network, region, asked, rendition, bitrate, replaces) = try row.decode(
                (UUID, UUID, UUID, String, String, String, String, Double, UUID?).self
            )
            return StoredAllocation(
                id: id, lessonID: lesson, edgeID: edge, network: network, region: region, askedRendition: asked, rendition: rendition,
                bitrateMbps: bitrate, replaces: replaces
            )
        }
    }
}
