import Allocation
import Foundation
import Logging
import PostgresNIO
import Reference
import ServiceKit

/// `up --demo`'s bandwidth data: the edges `up` runs, registered with their report tokens, and
/// a network table — the national one built from `Deploy/data/`, plus loopback rows so that a
/// request from 127.0.1.x is a viewer in Hubei on China Mobile, 127.0.2.x in Beijing on China
/// Unicom, 127.0.3.x in Guangdong on China Telecom (the gateway passes the address on).
enum DemoFleet {
    static let loopbackRows = [
        NetworkMap.Entry(prefix: IPPrefix("127.0.1.0/24")!, network: .mobile, region: Allocator.regionIndex("420000")),
        NetworkMap.Entry(prefix: IPPrefix("127.0.2.0/24")!, network: .unicom, region: Allocator.regionIndex("110000")),
        NetworkMap.Entry(prefix: IPPrefix("127.0.3.0/24")!, network: .telecom, region: Allocator.regionIndex("440000")),
    ]

    static func seed(_ seeding: ServiceDescriptor.DemoSeeding) async throws {
        let logger = seeding.logger
        for edge in seeding.edges {
            // Seeding again keeps the edge and its history; the token is whatever `up` holds now.
            let rows = try await seeding.database.query(
                """
                INSERT INTO bandwidth.edges (id, name, base_url, network, region, capacity_mbps, report_token_hash)
                VALUES (\(edge.id), \(edge.name), \(edge.baseURL), \(edge.network.rawValue), \(edge.region), \(edge.capacityMbps), \(SecretToken.digest(edge.reportToken)))
                ON CONFLICT (id) DO UPDATE SET base_url = EXCLUDED.base_url, report_token_hash = EXCLUDED.report_token_hash
                RETURNING (xmax = 0)
                """,
                logger: logger
            ).collect()
            if try rows.first?.decode(Bool.self) == true {
                try await seeding.database.query(
                    "INSERT INTO bandwidth.edge_changes (edge_id, change, reason) VALUES (\(edge.id), 'created', 'demo edge run by up')", logger: logger
                )
            }
        }
        let existing = try await seeding.database.query("SELECT count(*) FROM bandwidth.network_prefixes", logger: logger).collect()
        guard try existing.first?.decode(Int.self) == 0 else { return }
        let national = try NationalNetworkTable.build(from: seeding.deployFolder.appendingPathComponent("data").path).map
        let map = NetworkMap(entries: national.entries.filter { !$0.prefix.isIPv4 || $0.prefix.bytes[0] != 127 } + loopbackRows)
        try await NetworkTableStore.insert(map, by: nil, on: seeding.database, logger: logger)
    }
}
