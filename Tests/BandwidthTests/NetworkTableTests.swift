import Bandwidth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceKit
import Store
import TestSupport
import Testing

/// `PUT /api/v1/networks`: the administrator's table of where addresses are.
@Suite struct NetworkTableTests {
    struct Located: Decodable, Equatable {
        var address: String
        var cidr: String
        var network: String
        var region: String?
    }

    struct Loaded: Decodable {
        var rows: Int
        var ipv6_rows: Int
        var network_only_rows: Int
    }

    /// Nested as real data nests: Telecom's /8 holds a Mobile /24 in Hubei and a Unicom /24 in
    /// Beijing (the demo's loopback rows).
    static let table = """
        cidr,network,region
        127.0.0.0/8,telecom,
        127.0.1.0/24,mobile,420000
        127.0.2.0/24,unicom,110000
        2001:db8::/32,cernet,
        2001:db8:42::/48,cernet,420000

        """

    static func put(_ client: any TestClientProtocol, _ csv: String, token: String, type: String = "text/csv") async throws -> TestResponse {
        try await client.execute(
            uri: "/api/v1/networks", method: .put, headers: [.contentType: type, .authorization: "Bearer \(token)"], body: ByteBuffer(string: csv)
        )
    }

    static func locate(_ client: any TestClientProtocol, _ address: String, token: String) async throws -> TestResponse {
        try await client.json(.get, "/api/v1/networks/lookup?address=\(address)", token: token)
    }

    @Test func theTableIsReplacedWholeMatchedByLongestPrefixAndOutlivesARestart() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await harness.test { client async throws in
            try await FleetTests.ready(client)
            #expect(try await Self.locate(client, "127.0.1.9", token: admin).status == .notFound, "no table yet")
            let loaded = try await Self.put(client, Self.table, token: admin)
            #expect(loaded.status == .ok)
            let counts = try loaded.decode(Loaded.self)
            #expect(counts.rows == 5 && counts.ipv6_rows == 2 && counts.network_only_rows == 2)
            #expect(try await Self.locate(client, "127.0.1.9", token: admin).decode(Located.self) == .init(address: "127.0.1.9", cidr: "127.0.1.0/24", network: "mobile", region: "420000"))
            #expect(try await Self.locate(client, "127.0.2.200", token: admin).decode(Located.self).network == "unicom")
            #expect(try await Self.locate(client, "127.0.3.1", token: admin).decode(Located.self) == .init(address: "127.0.3.1", cidr: "127.0.0.0/8", network: "telecom", region: nil))
            #expect(try await Self.locate(client, "2001:db8:42::7", token: admin).decode(Located.self).region == "420000")
            #expect(try await Self.locate(client, "2001:db8:43::7", token: admin).decode(Located.self).cidr == "2001:db8::/32")
            #expect(try await Self.locate(client, "10.0.0.1", token: admin).status == .notFound)
            #expect(try await Self.locate(client, "not-an-address", token: admin).status == .unprocessableContent)
            let download = try await client.json(.get, "/api/v1/networks", token: admin)
            #expect(download.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(Set(String(buffer: download.body).split(separator: "\n")) == Set(Self.table.split(separator: "\n")), "it reads back as it was loaded")
        }
        // A new process loads the stored table.
        let pool = Database(settings: TestPostgres.asService("bandwidth", harness.database), logger: Logger(label: "test.db"))
        let restarted = ServiceHarness(service: BandwidthService(settings: harness.service.settings, database: pool), database: harness.database)
        try await restarted.test { client async throws in
            try await FleetTests.ready(client)
            #expect(try await Self.locate(client, "127.0.1.9", token: admin).decode(Located.self).region == "420000")
        }
        #expect(try await harness.scalar("SELECT rows FROM bandwidth.network_table_loads ORDER BY id DESC LIMIT 1", as: Int32.self) == 5)
    }

    @Test func aBadTableNamesEveryBadRowAndChangesNothing() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        let teacher = try await TestKeys.accessToken(user: UUID(), role: .teacher)
        try await harness.test { client async throws in
            try await FleetTests.ready(client)
            #expect(try await Self.put(client, Self.table, token: admin).status == .ok)
            let bad = """
                cidr,network,region
                127.0.1.0/24,telecom,420000
                127.0.1.1/24,mobile,420000
                10.0.0.0/8,wimax,
                10.1.0.0/16,mobile,999999
                127.0.1.0/24,unicom,
                300.0.0.0/8,mobile,

                """
            let refused = try await Self.put(client, bad, token: admin)
            #expect(refused.status == .unprocessableContent)
            let errors = try refused.problem().errors ?? []
            #expect(errors.map { "\($0.row ?? 0) \($0.field)" } == ["3 cidr", "4 network", "5 region", "6 cidr", "7 cidr"])
            #expect(errors.first { $0.row == 6 }?.message.contains("row 2") == true, "a prefix twice names its first row")
            #expect(try await Self.locate(client, "127.0.1.9", token: admin).decode(Located.self).network == "mobile", "the old table stands")
            #expect(try await Self.put(client, "prefix,operator\n1.0.0.0/8,telecom\n", token: admin).status == .unprocessableContent)
            #expect(try await Self.put(client, Self.table, token: admin, type: "application/json").status == .unsupportedMediaType)
            #expect(try await Self.put(client, Self.table, token: teacher).status == .forbidden)
            #expect(try await client.json(.get, "/api/v1/networks", token: teacher).status == .forbidden)
        }
        #expect(try await harness.scalar("SELECT count(*) FROM bandwidth.network_prefixes", as: Int.self) == 5)
    }
}
