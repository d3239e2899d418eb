import AsyncHTTPClient
import Bandwidth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InternalProtocol
import Logging
import NIOCore
import ServiceKit
import Store
import TestSupport
import Testing

/// Allocate, renew and release over the internal protocol, on a real PostgreSQL.
@Suite struct AllocationTests {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func edge(_ name: String, network: String, region: String, capacity: Double) -> String {
        #"{"name":"\#(name)","base_url":"http://127.0.0.1:9001/\#(name)","network":"\#(network)","region":"\#(region)","capacity_mbps":\#(capacity)}"#
    }

    /// Edges that report every 300 ms until the returned task is cancelled, so they stay up.
    static func keepReporting(_ client: any TestClientProtocol, _ edges: [FleetTests.EdgeBody]) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                for edge in edges {
                    _ = try? await FleetTests().report(client, edge.id, token: edge.report_token!)
                }
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    static func allocate(_ client: any TestClientProtocol, _ body: String) async throws -> AllocationAnswer {
        let response = try await client.json(.post, InternalRoutes.allocations, body: body, token: TestKeys.serviceToken)
        guard response.status == .ok else { throw TestFailure("allocate: \(response.status) \(String(buffer: response.body))") }
        return try decoder.decode(AllocationAnswer.self, from: Data(buffer: response.body))
    }

    static func renew(_ client: any TestClientProtocol, _ ids: [UUID]) async throws -> [UUID: Renewal] {
        let body = String(decoding: try JSONEncoder().encode(AllocationIDs(ids)), as: UTF8.self)
        let response = try await client.json(.post, InternalRoutes.renewals, body: body, token: TestKeys.serviceToken)
        let renewals = try decoder.decode(Renewals.self, from: Data(buffer: response.body)).renewals
        return Dictionary(uniqueKeysWithValues: renewals.map { ($0.allocationID, $0) })
    }

    /// What the store holds per edge: the accounting a restart would rebuild.
    static func storedMbps(_ harness: ServiceHarness<BandwidthService>, on edge: UUID) async throws -> Double {
        try await harness.scalar("SELECT coalesce(sum(bitrate_mbps), 0) FROM bandwidth.allocations WHERE edge_id = \(edge)", as: Double.self)
    }

    @Test func aViewerIsPlacedByTheirAddressRenewedAndReleased() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        let lesson = UUID()
        try await harness.test { client async throws in
            try await FleetTests.ready(client)
            #expect(try await NetworkTableTests.put(client, NetworkTableTests.table, token: admin).status == .ok)
            let wuhan = try await FleetTests().add(client, admin, body: Self.edge("wuhan-mobile", network: "mobile", region: "420000", capacity: 100))
            let beijing = try await FleetTests().add(client, admin, body: Self.edge("beijing-unicom", network: "unicom", region: "110000", capacity: 100))
            let reporting = Self.keepReporting(client, [wuhan, beijing])
            defer { reporting.cancel() }
            while try await client.json(.get, "/api/v1/edges/\(beijing.id)", token: admin).decode(FleetTests.EdgeBody.self).health != "up" {
                try await Task.sleep(for: .milliseconds(20))
            }

            let hubei = try #require(try await Self.allocate(client, #"{"lesson_id":"\#(lesson)","viewer_address":"127.0.1.20"}"#).placed)
            #expect(hubei.edgeID == wuhan.id && hubei.rendition == "1080p" && hubei.bitrateMbps == 3 && !hubei.crossNetwork && !hubei.crossRegion)
            #expect(hubei.baseURL == "http://127.0.0.1:9001/wuhan-mobile" && hubei.expiresAt > Date())
            let capital = try #require(try await Self.allocate(client, #"{"lesson_id":"\#(lesson)","viewer_address":"127.0.2.20","rendition":"720p"}"#).placed)
            #expect(capital.edgeID == beijing.id && capital.rendition == "720p" && capital.network == "unicom")
            // An address the table does not know: the hints decide; with none, the roomiest pool.
            let hinted = try #require(try await Self.allocate(client, #"{"lesson_id":"\#(lesson)","viewer_address":"10.9.9.9","network":"unicom","region":"110000"}"#).placed)
            #expect(hinted.edgeID == beijing.id)
            let unknown = try #require(try await Self.allocate(client, #"{"lesson_id":"\#(lesson)"}"#).placed)
            #expect(unknown.edgeID == wuhan.id, "the Hubei pool has more room left")

            // Sent again after a lost answer, the same id is the same allocation.
            let id = UUID()
            let first = try await Self.allocate(client, #"{"allocation_id":"\#(id)","lesson_id":"\#(lesson)","viewer_address":"127.0.1.21"}"#)
            let again = try await Self.allocate(client, #"{"allocation_id":"\#(id)","lesson_id":"\#(lesson)","viewer_address":"127.0.1.21"}"#)
            #expect(first == again && first.placed?.allocationID == id)
            let taken = try await client.json(.post, InternalRoutes.allocations, body: #"{"allocation_id":"\#(id)","lesson_id":"\#(UUID())"}"#, token: TestKeys.serviceToken)
            #expect(taken.status == .conflict)
            #expect(try await harness.scalar("SELECT count(*) FROM bandwidth.allocations", as: Int.self) == 5, "answered only once stored")

            let renewed = try await Self.renew(client, [hubei.allocationID, capital.allocationID, UUID()])
            #expect(renewed[hubei.allocationID]?.state == .renewed && renewed[capital.allocationID]?.state == .renewed)
            #expect(renewed.values.filter { $0.state == .unknown }.count == 1)
            let released = try await client.json(
                .post, InternalRoutes.releases, body: #"{"allocation_ids":["\#(hubei.allocationID)","\#(hubei.allocationID)","\#(UUID())"]}"#, token: TestKeys.serviceToken)
            #expect(try Self.decoder.decode(Releases.self, from: Data(buffer: released.body)).released == 1)
            #expect(try await Self.renew(client, [hubei.allocationID])[hubei.allocationID]?.state == .unknown)
            var stored = 5
            for _ in 0..<100 where stored == 5 {
                try await Task.sleep(for: .milliseconds(20))
                stored = try await harness.scalar("SELECT count(*) FROM bandwidth.allocations", as: Int.self)
            }
            #expect(stored == 4, "the release reaches the store")
        }
    }

    @Test func badAllocationRequestsAreRefusedNamingTheField() async throws {
        let harness = try await FleetTests.harness()
        let teacher = try await TestKeys.accessToken(user: UUID(), role: .teacher)
        try await harness.test { client async throws in
            try await FleetTests.ready(client)
            let lesson = UUID()
            for (body, field) in [
                (#"{"lesson_id":"\#(lesson)","rendition":"4k"}"#, "rendition"), (#"{"lesson_id":"\#(lesson)","viewer_address":"999.1.1.1"}"#, "viewer_address"),
                (#"{"lesson_id":"\#(lesson)","network":"wimax"}"#, "network"), (#"{"lesson_id":"\#(lesson)","region":"999999"}"#, "region"),
            ] {
                let refused = try await client.json(.post, InternalRoutes.allocations, body: body, token: TestKeys.serviceToken)
                #expect(refused.status == .unprocessableContent, "\(body)")
                #expect(try refused.problem().errors?.map(\.field) == [field])
            }
            #expect(try await client.json(.post, InternalRoutes.allocations, body: #"{"rendition":"720p"}"#, token: TestKeys.serviceToken).status == .badRequest)
            #expect(try await client.json(.post, InternalRoutes.allocations, body: #"{"lesson_id":"\#(lesson)"}"#, token: teacher).status == .unauthorized)
            let tooMany = String(decoding: try JSONEncoder().encode(AllocationIDs((0...InternalRoutes.mostAllocationsPerCall).map { _ in UUID() })), as: UTF8.self)
            #expect(try await client.json(.post, InternalRoutes.renewals, body: tooMany, token: TestKeys.serviceToken).status == .unprocessableContent)
            // No edge at all: a refusal with a time to come back, not an error.
            let refusal = try await Self.allocate(client, #"{"lesson_id":"\#(lesson)"}"#)
            #expect(refusal.placed == nil && refusal.refused == AllocationRefusal(reason: "no_capacity", retryAfterSeconds: 10))
        }
    }

    /// Eighty viewers at once for two small edges: each edge ends at or under its capacity, in
    /// the answers and in the store, and the rest are refused with a time to come back.
    @Test func concurrentAllocationsNeverPassCapacity() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await harness.testLive { client async throws in
            try await FleetTests.ready(client)
            let small = try await FleetTests().add(client, admin, body: Self.edge("small", network: "mobile", region: "420000", capacity: 1))
            let larger = try await FleetTests().add(client, admin, body: Self.edge("larger", network: "mobile", region: "420000", capacity: 2))
            let reporting = Self.keepReporting(client, [small, larger])
            defer { reporting.cancel() }
            while try await client.json(.get, "/api/v1/edges/\(larger.id)", token: admin).decode(FleetTests.EdgeBody.self).health != "up" {
                try await Task.sleep(for: .milliseconds(20))
            }
            let lesson = UUID()
            let answers = try await ConcurrentRequests(client).post(
                InternalRoutes.allocations, count: 80, headers: { _ in ["Authorization": "Bearer \(TestKeys.serviceToken)"] },
                body: { _ in #"{"lesson_id":"\#(lesson)","network":"mobile","region":"420000"}"# }
            ).map { try Self.decoder.decode(AllocationAnswer.self, from: $0.body) }
            let placed = answers.compactMap(\.placed)
            let refused = answers.compactMap(\.refused)
            #expect(placed.count + refused.count == 80 && !refused.isEmpty && refused.allSatisfy { $0.retryAfterSeconds > 0 })
            for (edge, capacity) in [(small.id, 1.0), (larger.id, 2.0)] {
                let promised = placed.filter { $0.edgeID == edge }.map(\.bitrateMbps).reduce(0, +)
                #expect(promised <= capacity + 1e-9, "\(promised) Mbit/s promised on a \(capacity) Mbit/s edge")
                #expect(abs(try await Self.storedMbps(harness, on: edge) - promised) < 1e-9, "every answered allocation is stored")
            }
            #expect(placed.contains { $0.downgraded }, "a filling edge steps viewers down before refusing")
        }
    }

    /// Drained, an edge's viewers get new places at once, within capacity, handed out with
    /// their next renewal; when an edge goes silent its viewers are moved the same way.
    @Test func drainingOrSilenceMovesEveryViewer() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await harness.testLive { client async throws in
            try await FleetTests.ready(client)
            let a = try await FleetTests().add(client, admin, body: Self.edge("a", network: "mobile", region: "420000", capacity: 100))
            let b = try await FleetTests().add(client, admin, body: Self.edge("b", network: "mobile", region: "420000", capacity: 100))
            let reportingA = Self.keepReporting(client, [a])
            defer { reportingA.cancel() }
            let reportingB = Self.keepReporting(client, [b])
            defer { reportingB.cancel() }
            while try await client.json(.get, "/api/v1/edges/\(b.id)", token: admin).decode(FleetTests.EdgeBody.self).health != "up" {
                try await Task.sleep(for: .milliseconds(20))
            }
            let lesson = UUID()
            var held: [Allocation] = []
            for _ in 0..<10 { held.append(try #require(try await Self.allocate(client, #"{"lesson_id":"\#(lesson)","network":"mobile","region":"420000"}"#).placed)) }
            let onA = held.filter { $0.edgeID == a.id }
            #expect(!onA.isEmpty, "the lesson spreads over both edges")

            _ = try await client.json(.post, "/api/v1/edges/\(a.id)/drain", body: #"{"reason":"maintenance"}"#, token: admin)
            let renewals = try await Self.renew(client, held.map(\.allocationID))
            for allocation in held {
                let renewal = try #require(renewals[allocation.allocationID])
                if allocation.edgeID == a.id {
                    #expect(renewal.state == .moved && renewal.movedTo?.edgeID == b.id && renewal.movedTo?.rendition == allocation.rendition)
                } else {
                    #expect(renewal.state == .renewed)
                }
            }
            var onDrained = -1.0
            for _ in 0..<100 where onDrained != 0 {
                try await Task.sleep(for: .milliseconds(20))
                onDrained = try await Self.storedMbps(harness, on: a.id)
            }
            #expect(onDrained == 0, "the store follows the moves")
            #expect(try await Self.storedMbps(harness, on: b.id) == held.map(\.bitrateMbps).reduce(0, +))

            // Back in service, then B falls silent: within about three seconds its viewers are moved to A.
            _ = try await client.json(.post, "/api/v1/edges/\(a.id)/activate", body: #"{"reason":"done"}"#, token: admin)
            reportingB.cancel()
            let current = held.map { renewals[$0.allocationID]?.movedTo?.allocationID ?? $0.allocationID }
            let silentSince = ContinuousClock.now
            var moved: [Renewal] = []
            while moved.count < current.count && ContinuousClock.now - silentSince < .seconds(8) {
                try await Task.sleep(for: .milliseconds(100))
                moved = try await Self.renew(client, current).values.filter { $0.state == .moved }
            }
            #expect(moved.count == current.count && moved.allSatisfy { $0.movedTo?.edgeID == a.id }, "moved \(moved.count) of \(current.count)")
        }
    }
}
