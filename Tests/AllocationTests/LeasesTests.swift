import Allocation
import Foundation
import Reference
import Testing

@Suite struct LeasesTests {
    static let hubei = Allocator.regionIndex("420000")!

    func fleet(_ capacities: [Double]) -> (Leases, [Allocator.EdgeIndex]) {
        let allocator = Allocator()
        let edges = capacities.map { allocator.addEdge(network: .mobile, region: Self.hubei, capacity: $0) }
        return (Leases(allocator: allocator, leaseSeconds: 60), edges)
    }

    @Test func leasesAreRenewedInBulkReleasedAndExpired() throws {
        let (leases, _) = fleet([100])
        let lesson = UUID()
        let a = try leases.allocate(lesson: lesson, network: .mobile, region: Self.hubei, rendition: 1, now: 0).get()
        let b = try leases.allocate(lesson: lesson, network: .mobile, region: Self.hubei, rendition: 1, now: 0).get()
        let answers = leases.renew([a.id, b.id, UUID()], now: 30)
        #expect(answers[a.id] == .renewed(expiresAt: 90) && answers[b.id] == .renewed(expiresAt: 90))
        #expect(answers.values.filter { $0 == .unknown }.count == 1)
        #expect(leases.release(a.id) && !leases.release(a.id))
        #expect(leases.allocator.accounted(on: 0) == 1.5)
        #expect(leases.expire(now: 89).isEmpty && leases.expire(now: 90) == [b.id])
        #expect(leases.allocator.accounted(on: 0) == 0)
        #expect(leases.renew([b.id], now: 91)[b.id] == .unknown, "an expired lease is not renewed")
    }

    /// A draining edge's viewers are placed elsewhere at once, never past capacity, and each
    /// learns its new place at its next renewal; those that fit nowhere are told so.
    @Test func drainingMovesEveryViewerWithinCapacity() throws {
        let (leases, edges) = fleet([30, 30, 12])
        var held: [Leases.Lease] = []
        for index in 0..<40 {
            held.append(try leases.allocate(lesson: UUID(), network: .mobile, region: Self.hubei, rendition: 1, now: Double(index)).get())
        }
        let onFirst = held.filter { $0.placement.edge == edges[0] }
        #expect(!onFirst.isEmpty)
        let moves = leases.stopAccepting(edges[0], moving: true, now: 100)
        let (moved, lost) = (moves.moved.count, moves.lost.count)
        #expect(moves.moved.allSatisfy { $0.to.replaces == $0.from })
        #expect(moved > 0 && moved + lost == onFirst.count)
        #expect(leases.viewers(on: edges[0]) == 0)
        for edge in edges { #expect(leases.allocator.accounted(on: edge) <= leases.allocator.capacity(of: edge)) }
        let answers = leases.renew(onFirst.map(\.id), now: 101)
        let switched = answers.values.compactMap { if case .moved(let lease) = $0 { lease } else { nil } }
        #expect(switched.count == moved && switched.allSatisfy { $0.placement.edge != edges[0] })
        #expect(answers.values.filter { if case .lost = $0 { true } else { false } }.count == lost)
        // A renewal answer lost on the way is given again: the old id still names the new lease.
        let again = leases.renew(onFirst.map(\.id), now: 102)
        #expect(again.values.compactMap { if case .moved(let lease) = $0 { lease.id } else { nil } }.sorted() == switched.map(\.id).sorted())
        let first = try #require(switched.first)
        #expect(leases.renew([first.id], now: 103)[first.id] == .renewed(expiresAt: 163))
        // After a lease term nobody asked about the move, it is forgotten.
        leases.expire(now: 100 + 61)
        #expect(leases.renew(onFirst.map(\.id), now: 100 + 61).values.allSatisfy { $0 == .unknown })
    }

    /// Moved twice before renewing (its new edge drained too), a viewer is led to where it is now.
    @Test func aViewerMovedTwiceIsLedToItsLatestPlace() throws {
        let (leases, edges) = fleet([10, 10, 10])
        let lesson = UUID()
        let held = try leases.allocate(lesson: lesson, network: .mobile, region: Self.hubei, rendition: 1, now: 0).get()
        let firstMove = try #require(leases.stopAccepting(held.placement.edge, moving: true, now: 1).moved.first)
        let secondMove = try #require(leases.stopAccepting(firstMove.to.placement.edge, moving: true, now: 2).moved.first)
        #expect(Set([held.placement.edge, firstMove.to.placement.edge, secondMove.to.placement.edge]) == Set(edges))
        #expect(leases.renew([held.id], now: 3)[held.id] == .moved({ var l = secondMove.to; l.expiresAt = 63; return l }()))
    }

    /// After a restart the stored leases are accounted again; one that would pass its edge's
    /// capacity (the store and the fleet disagree) is refused, so no edge is over-promised.
    @Test func restoringAfterARestartNeverPassesCapacity() throws {
        let (before, _) = fleet([10])
        var stored: [Leases.Lease] = []
        for _ in 0..<6 { stored.append(try before.allocate(lesson: UUID(), network: .mobile, region: Self.hubei, rendition: 1, now: 0).get()) }
        let (after, _) = fleet([7.5])  // the edge came back smaller
        let restored = stored.filter { after.restore($0) }
        #expect(restored.count == 5)
        #expect(after.allocator.accounted(on: 0) == 7.5)
        #expect(after.renew(stored.map(\.id), now: 1).values.filter { $0 == .unknown }.count == 1)
    }
}
