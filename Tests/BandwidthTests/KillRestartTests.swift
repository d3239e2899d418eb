import AsyncHTTPClient
import Bandwidth
import Foundation
import InternalProtocol
import Logging
import Platform
import NIOCore
import NIOHTTP1
import ServiceKit
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The bandwidth service as its own process (`cloudclass serve bandwidth`), killed with
/// SIGKILL mid-morning and started again: every allocation it acknowledged is still accounted,
/// and no edge is promised past its capacity, before, across or after the restart.
@Suite struct KillRestartTests {
    @Test func afterAKillNineEveryAcknowledgedAllocationIsAccountedAndNoEdgeIsOverPromised() async throws {
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin, lifetime: 3600)
        let port = TestPorts.reserve()
        let environment = ServedProcess.environment(
            database: TestPostgres.asService("bandwidth", harness.database), ["CLOUDCLASS_BANDWIDTH_URL": "http://127.0.0.1:\(port)"]
        )
        let (folder, log) = ServedProcess.privateLog(for: .bandwidth)
        let caller = HTTPCaller(base: "http://127.0.0.1:\(port)")

        var service = try ServedProcess(.bandwidth, environment: environment, log: log)
        defer {
            service.kill(SIGKILL)
            try? FileManager.default.removeItem(at: folder)
        }
        #expect(await caller.ready(), "the service started (log: \(log))")
        var edges: [(id: UUID, token: String, capacity: Double)] = []
        for (name, capacity) in [("small", 2.0), ("larger", 3.0)] {
            let body = #"{"name":"\#(name)","base_url":"http://127.0.0.1:9001","network":"mobile","region":"420000","capacity_mbps":\#(capacity)}"#
            let made = try await caller.send(.POST, "/api/v1/edges", token: admin, body: body)
            let edge = try AllocationTests.decoder.decode(FleetTests.EdgeBody.self, from: made.body)
            edges.append((edge.id, edge.report_token!, capacity))
        }
        let reporting = Task { [edges] in
            while !Task.isCancelled {
                for edge in edges {
                    _ = try? await caller.send(.POST, "/api/v1/edges/\(edge.id)/report", token: edge.token, body: #"{"egress_mbps":1,"viewers":1,"cpu":1}"#)
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { reporting.cancel() }
        try await Task.sleep(for: .milliseconds(600))

        let lesson = UUID()
        func allocateMany(_ count: Int) async -> [Allocation] {
            await withTaskGroup(of: Allocation?.self) { group in
                for _ in 0..<count { group.addTask { await caller.allocate(UUID(), lesson: lesson) } }
                return await group.reduce(into: []) { if let placed = $1 { $0.append(placed) } }
            }
        }
        let before = await allocateMany(3)
        #expect(!before.isEmpty)

        service.kill(SIGKILL)
        service = try ServedProcess(.bandwidth, environment: environment, log: log)
        // Viewers keep joining while it starts: refused or unanswered until it is ready.
        var after: [Allocation] = []
        let restarting = ContinuousClock.now
        while ContinuousClock.now - restarting < .seconds(4) {
            after += await allocateMany(10)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await caller.ready(), "the service came back (log: \(log))")
        after += await allocateMany(40)

        #expect(!after.isEmpty, "the restarted service places viewers again")
        let total = (before + after).map(\.bitrateMbps).reduce(0, +)
        #expect(total > 0.9 * 5, "the joins after the restart fill what the restored leases left (\(total) of 5 Mbit/s)")
        let stored = Set(try await harness.scalarList("SELECT id FROM bandwidth.allocations", as: UUID.self))
        let lost = before.filter { !stored.contains($0.allocationID) }
        #expect(lost.isEmpty, "\(lost.count) acknowledged allocations were lost by the kill")
        for edge in edges {
            let promised = (before + after).filter { $0.edgeID == edge.id }.map(\.bitrateMbps).reduce(0, +)
            #expect(promised <= edge.capacity + 1e-9, "\(promised) Mbit/s promised on a \(edge.capacity) Mbit/s edge across the restart")
            let accounted = try await AllocationTests.storedMbps(harness, on: edge.id)
            #expect(accounted <= edge.capacity + 1e-9)
        }
        let renewals = try await caller.send(
            .POST, InternalRoutes.renewals, token: TestKeys.serviceToken,
            body: String(decoding: try JSONEncoder().encode(AllocationIDs(before.map(\.allocationID))), as: UTF8.self)
        )
        let states = try AllocationTests.decoder.decode(Renewals.self, from: renewals.body).renewals.map(\.state)
        #expect(states.allSatisfy { $0 == .renewed }, "the restored leases are renewed: \(states)")
    }
}

extension HTTPCaller {
    /// A viewer's allocation, nil when refused or when the service is not there.
    func allocate(_ id: UUID, lesson: UUID) async -> Allocation? {
        let body = #"{"allocation_id":"\#(id)","lesson_id":"\#(lesson)","network":"mobile","region":"420000"}"#
        guard let answer = try? await send(.POST, InternalRoutes.allocations, token: TestKeys.serviceToken, body: body), answer.status == 200 else { return nil }
        return try? AllocationTests.decoder.decode(AllocationAnswer.self, from: answer.body).placed
    }
}
