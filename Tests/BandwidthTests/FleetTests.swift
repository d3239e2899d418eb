import Bandwidth
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import ServiceKit
import Store
import TestSupport
import Testing

/// The fleet through its public routes, on a real PostgreSQL.
@Suite struct FleetTests {
    struct EdgeBody: Decodable {
        var id: UUID
        var name: String
        var network: String
        var region: String
        var capacity_mbps: Double
        var admin_state: String
        var health: String
        var report_token: String?
    }

    struct Changes: Decodable {
        struct Change: Decodable { var change: String; var reason: String?; var by_user: UUID? }
        var items: [Change]
    }

    static func harness() async throws -> ServiceHarness<BandwidthService> {
        try await .make(.bandwidth) { settings, database in BandwidthService(settings: settings, database: database) }
    }

    static let newEdge = #"{"name":"wuhan-mobile-1","base_url":"http://127.0.0.1:9001","network":"mobile","region":"420000","capacity_mbps":10000}"#

    /// The service loads its fleet once it runs: `/ready` says when (as `up` waits for it).
    static func ready(_ client: any TestClientProtocol) async throws {
        for _ in 0..<200 {
            if try await client.json(.get, "/ready").status == .ok { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the bandwidth service never became ready")
    }

    func add(_ client: any TestClientProtocol, _ admin: String, body: String = FleetTests.newEdge) async throws -> EdgeBody {
        let response = try await client.json(.post, "/api/v1/edges", body: body, token: admin)
        guard response.status == .created else { throw TestFailure("add: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(EdgeBody.self)
    }

    func report(_ client: any TestClientProtocol, _ edge: UUID, token: String, body: String = #"{"egress_mbps":120.5,"viewers":80,"cpu":12}"#) async throws -> TestResponse {
        try await client.json(.post, "/api/v1/edges/\(edge)/report", body: body, token: token)
    }

    @Test func anAdministratorAddsAnEdgeWhichIsDownUntilItReportsAndEveryChangeIsKept() async throws {
        let harness = try await Self.harness()
        let adminID = UUID()
        let admin = try await TestKeys.accessToken(user: adminID, role: .admin)
        try await harness.test { client async throws in
            try await Self.ready(client)
            let edge = try await add(client, admin)
            #expect(edge.health == "down" && edge.admin_state == "active" && edge.report_token?.isEmpty == false)
            let shown = try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin).decode(EdgeBody.self)
            #expect(shown.report_token == nil, "the token is shown once")
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .noContent)
            #expect(try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin).decode(EdgeBody.self).health == "up")

            let drained = try await client.json(.post, "/api/v1/edges/\(edge.id)/drain", body: #"{"reason":"kernel upgrade"}"#, token: admin)
            #expect(try drained.decode(EdgeBody.self).admin_state == "draining")
            let changed = try await client.json(.patch, "/api/v1/edges/\(edge.id)", body: #"{"capacity_mbps":20000,"reason":"new uplink"}"#, token: admin)
            #expect(try changed.decode(EdgeBody.self).capacity_mbps == 20000)
            // A loaded machine may pass 3 s between the report and here: the edge is then rightly
            // down (and may come back up) in between; the administrator's changes are all there, in order.
            let changes = try await client.json(.get, "/api/v1/edges/\(edge.id)/changes", token: admin).decode(Changes.self).items
                .filter { $0.change != "health down" }
            #expect(changes.map(\.change) == ["created", "health up", "state draining", "changed capacity 20000.0"])
            #expect(changes[2].reason == "kernel upgrade" && changes[2].by_user == adminID && changes[1].by_user == nil)

            #expect(try await client.json(.delete, "/api/v1/edges/\(edge.id)", token: admin).status == .noContent)
            #expect(try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin).status == .notFound)
            let kept = try await client.json(.get, "/api/v1/edges/\(edge.id)/changes", token: admin).decode(Changes.self).items
            #expect(kept.last?.change == "removed", "the record outlives the edge")
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .unauthorized, "a removed edge's reports are refused")
        }
    }

    @Test func reportsNeedTheEdgesCurrentTokenAndSaneFigures() async throws {
        let harness = try await Self.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await harness.test { client async throws in
            try await Self.ready(client)
            let a = try await add(client, admin)
            let b = try await add(client, admin, body: FleetTests.newEdge.replacingOccurrences(of: "wuhan-mobile-1", with: "wuhan-mobile-2"))
            #expect(try await report(client, a.id, token: b.report_token!).status == .unauthorized, "another edge's token")
            #expect(try await report(client, UUID(), token: a.report_token!).status == .unauthorized)
            #expect(try await report(client, a.id, token: admin).status == .unauthorized, "a user's token")
            let rotated = try await client.json(.post, "/api/v1/edges/\(a.id)/report-token", token: admin).decode(EdgeBody.self)
            #expect(try await report(client, a.id, token: a.report_token!).status == .unauthorized, "the old token stopped working")
            #expect(try await report(client, a.id, token: rotated.report_token!).status == .noContent)
            for (body, field) in [
                (#"{"egress_mbps":-1,"viewers":0,"cpu":0}"#, "egress_mbps"), (#"{"egress_mbps":1e300,"viewers":0,"cpu":0}"#, "egress_mbps"),
                (#"{"egress_mbps":1,"viewers":-5,"cpu":0}"#, "viewers"), (#"{"egress_mbps":1,"viewers":1,"cpu":-1}"#, "cpu"),
            ] {
                let refused = try await report(client, a.id, token: rotated.report_token!, body: body)
                #expect(refused.status == .unprocessableContent, "\(body)")
                #expect(try refused.problem().errors?.map(\.field) == [field])
            }
        }
    }

    @Test func badEdgesAreRefusedNamingEveryFieldAndOnlyAdministratorsManageTheFleet() async throws {
        let harness = try await Self.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        let teacher = try await TestKeys.accessToken(user: UUID(), role: .teacher)
        try await harness.test { client async throws in
            try await Self.ready(client)
            let bad = try await client.json(
                .post, "/api/v1/edges", body: #"{"name":"","base_url":"ftp://x","network":"fibre","region":"999999","capacity_mbps":-3}"#, token: admin)
            #expect(bad.status == .unprocessableContent)
            #expect(try bad.problem().errors?.map(\.field) == ["name", "base_url", "network", "region", "capacity_mbps"])
            let edge = try await add(client, admin)
            #expect(try await client.json(.post, "/api/v1/edges", body: Self.newEdge, token: admin).status == .conflict)
            #expect(try await client.json(.post, "/api/v1/edges/\(edge.id)/cordon", body: #"{"reason":""}"#, token: admin).status == .unprocessableContent)
            #expect(try await client.json(.get, "/api/v1/edges", token: teacher).status == .forbidden)
            #expect(try await client.json(.post, "/api/v1/edges/\(UUID())/activate", body: #"{"reason":"x"}"#, token: admin).status == .notFound)
        }
        #expect(try await harness.scalar("SELECT count(*) FROM bandwidth.edges", as: Int.self) == 1)
    }

    /// Three missed reports and the edge is down — within about 3 s of its last report (Apache
    /// Traffic Control takes 6–10 s); a good report brings it back, its admin state unchanged.
    @Test func aSilentEdgeIsDownWithinThreeSecondsAndComesBack() async throws {
        let harness = try await Self.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await harness.testLive { client async throws in
            try await Self.ready(client)
            let edge = try await add(client, admin)
            _ = try await client.json(.post, "/api/v1/edges/\(edge.id)/cordon", body: #"{"reason":"testing"}"#, token: admin)
            // The report is received between these two moments.
            let sending = ContinuousClock.now
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .noContent)
            let silentSince = ContinuousClock.now
            var health = "up"
            while health == "up" && ContinuousClock.now - silentSince < .seconds(6) {
                try await Task.sleep(for: .milliseconds(50))
                health = try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin).decode(EdgeBody.self).health
            }
            #expect(health == "down")
            #expect(ContinuousClock.now - sending >= .milliseconds(2900), "not before three reports are missed")
            // The service marks it down 3.0-3.1 s after the report (the monitor looks ten times a
            // second); the bound leaves room for a loaded machine's polling.
            #expect(ContinuousClock.now - silentSince < .milliseconds(4500), "down \(ContinuousClock.now - silentSince) after the last report")
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .noContent)
            let back = try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin).decode(EdgeBody.self)
            #expect(back.health == "up" && back.admin_state == "cordoned")
        }
    }

    /// The fleet outlives the process: a new service loads every edge (down until it reports).
    @Test func aRestartedServiceLoadsTheFleet() async throws {
        let harness = try await Self.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        let edge = try await harness.test { client async throws in
            try await Self.ready(client)
            let edge = try await add(client, admin)
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .noContent)
            return edge
        }
        // A new process: its own pool on the same database.
        let pool = Database(settings: TestPostgres.asService("bandwidth", harness.database), logger: Logger(label: "test.db"))
        let restarted = ServiceHarness(service: BandwidthService(settings: harness.service.settings, database: pool), database: harness.database)
        try await restarted.test { client async throws in
            try await Self.ready(client)
            var loaded = try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin)
            for _ in 0..<50 where loaded.status == .serviceUnavailable {
                try await Task.sleep(for: .milliseconds(20))
                loaded = try await client.json(.get, "/api/v1/edges/\(edge.id)", token: admin)
            }
            let body = try loaded.decode(EdgeBody.self)
            #expect(body.name == "wuhan-mobile-1" && body.health == "down", "down until it reports again")
            #expect(try await report(client, edge.id, token: edge.report_token!).status == .noContent, "its token still works")
        }
    }
}
