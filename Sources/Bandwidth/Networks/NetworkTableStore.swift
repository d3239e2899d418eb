import Allocation
import Foundation
import Logging
import PostgresNIO
import Reference
import Store

/// The network map's lasting half: the rows of the last table loaded and who loaded which.
struct NetworkTableStore: Sendable {
    let database: Database

    func load(logger: Logger) async throws -> NetworkMap {
        let rows = try await database.query(
            "SELECT prefix::text, network, coalesce(region, '') FROM bandwidth.network_prefixes",
            idempotent: true,
            logger: logger
        )
        let entries = try rows.compactMap { row -> NetworkMap.Entry? in
            let (prefix, network, region) = try row.decode((String, String, String).self)
            guard let prefix = IPPrefix(prefix), let network = Network(rawValue: network) else { return nil }
            return NetworkMap.Entry(prefix: prefix, network: network, region: region.isEmpty ? nil : Allocator.regionIndex(region))
        }
        return NetworkMap(entries: entries)
    }

    /// Replaces every row in one transaction (one statement for the rows, however many).
    func replace(with map: NetworkMap, by user: UUID?, logger: Logger) async throws {
        try await database.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM bandwidth.network_prefixes", logger: logger)
            try await Self.insert(map, by: user, on: connection, logger: logger)
        }
    }

    static func insert(_ map: NetworkMap, by user: UUID?, on connection: some PostgresQueryRunner, logger: Logger) async throws {
        let prefixes = map.entries.map { "\($0.prefix)" }
        let networks = map.entries.map(\.network.rawValue)
        let regions = map.entries.map { $0.region.map { Region.all[$0].code } ?? "" }
        try await connection.run(
            """
            INSERT INTO bandwidth.network_prefixes (prefix, network, region)
            SELECT p::cidr, n, nullif(r, '') FROM unnest(\(prefixes)::text[], \(networks)::text[], \(regions)::text[]) AS t(p, n, r)
            """,
            logger: logger
        )
        try await connection.run("INSERT INTO bandwidth.network_table_loads (by_user, rows) VALUES (\(user), \(map.entries.count))", logger: logger)
    }

    struct Load: Encodable, Sendable {
        var at: Date
        var by_user: String?
        var rows: Int
    }

    func lastLoad(logger: Logger) async throws -> Load? {
        try await database.query(
            "SELECT at, by_user, rows FROM bandwidth.network_table_loads ORDER BY id DESC LIMIT 1",
            idempotent: true,
            logger: logger
        ).first.map { row in
            let (at, user, rows) = try row.decode((Date, UUID?, Int32).self)
            return Load(at: at, by_user: user?.lowercased, rows: Int(rows))
        }
    }
}

/// A connection or a pool: where the table's rows are written (a transaction, or demo seeding's
/// pool).
protocol PostgresQueryRunner: Sendable {
    func run(_ query: PostgresQuery, logger: Logger) async throws
}

extension PostgresConnection: PostgresQueryRunner {
    func run(_ query: PostgresQuery, logger: Logger) async throws { try await self.query(query, logger: logger) }
}

extension PostgresClient: PostgresQueryRunner {
    func run(_ query: PostgresQuery, logger: Logger) async throws { try await self.query(query, logger: logger) }
}
