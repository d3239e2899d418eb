import Foundation
import Reference

/// Allocations as leases, over an `Allocator`: each has an id, is renewed in bulk by id (the
/// attendance service renews the sessions it saw), released on leave, and expires when not
/// renewed. When an edge drains or goes down its viewers are placed again at once (never past
/// capacity) and each new place is handed out with the viewer's next renewal. Pure state: the
/// service persists the records and calls this under one lock; after a restart it rebuilds by
/// `restore`, which accounts each stored lease on its edge again.
public final class Leases {
    public struct Lease: Sendable, Equatable {
        public var id: UUID
        public var lesson: UUID
        public var network: Network
        public var region: Int
        /// The rendition the viewer asked for (a move may serve them another).
        public var asked: Int
        public var placement: Allocator.Placement
        /// Seconds since the epoch.
        public var expiresAt: Double
    }

    public enum Renewal: Sendable, Equatable {
        case renewed(expiresAt: Double)
        /// The viewer was moved: here is their new lease (its own id), to switch to.
        case moved(Lease)
        /// Moved, but nowhere had room: the viewer must ask again later.
        case lost(Allocator.Refusal)
        /// Unknown, expired or released.
        case unknown
    }

    public let allocator: Allocator
    public let leaseSeconds: Double
    public private(set) var leases: [UUID: Lease] = [:]
    private var onEdge: [Allocator.EdgeIndex: Set<UUID>] = [:]
    /// Old lease id → what its holder is told at the next renewal.
    private var movedTo: [UUID: Renewal] = [:]

    public init(allocator: Allocator, leaseSeconds: Double = 90) {
        precondition(leaseSeconds > 0)
        self.allocator = allocator
        self.leaseSeconds = leaseSeconds
    }

    public func allocate(lesson: UUID, network: Network, region: Int, rendition: Int, now: Double, id: UUID = UUID()) -> Result<Lease, Allocator.Refusal> {
        switch allocator.allocate(lesson: lesson, network: network, region: region, rendition: rendition) {
        case .refused(let refusal):
            return .failure(refusal)
        case .placed(let placement):
            let lease = Lease(id: id, lesson: lesson, network: network, region: region, asked: rendition, placement: placement, expiresAt: now + leaseSeconds)
            record(lease)
            return .success(lease)
        }
    }

    public func renew(_ ids: [UUID], now: Double) -> [UUID: Renewal] {
        var answers: [UUID: Renewal] = [:]
        for id in ids {
            if let moved = movedTo.removeValue(forKey: id) {
                if case .moved(var lease) = moved, leases[lease.id] != nil {
                    lease.expiresAt = now + leaseSeconds
                    leases[lease.id]?.expiresAt = lease.expiresAt
                    answers[id] = .moved(lease)
                } else {
                    answers[id] = moved
                }
            } else if var lease = leases[id], lease.expiresAt > now {
                lease.expiresAt = now + leaseSeconds
                leases[id] = lease
                answers[id] = .renewed(expiresAt: lease.expiresAt)
            } else {
                answers[id] = .unknown
            }
        }
        return answers
    }

    @discardableResult
    public func release(_ id: UUID) -> Bool {
        guard let lease = leases.removeValue(forKey: id) else { return false }
        onEdge[lease.placement.edge]?.remove(id)
        allocator.release(lesson: lease.lesson, edge: lease.placement.edge, bitrate: lease.placement.bitrate)
        return true
    }

    /// Releases every lease not renewed in time; returns how many.
    @discardableResult
    public func expire(now: Double) -> Int {
        let expired = leases.values.filter { $0.expiresAt <= now }.map(\.id)
        for id in expired { release(id) }
        return expired.count
    }

    /// The edge takes no new viewers (draining, cordoned or down); with `moving`, its viewers
    /// are placed again elsewhere at once. Returns how many were moved and how many found no room.
    @discardableResult
    public func stopAccepting(_ edge: Allocator.EdgeIndex, moving: Bool, now: Double) -> (moved: Int, lost: Int) {
        allocator.setAccepting(edge, false)
        guard moving else { return (0, 0) }
        var moved = 0, lost = 0
        for id in onEdge[edge] ?? [] {
            guard let old = leases[id] else { continue }
            release(id)
            switch allocate(lesson: old.lesson, network: old.network, region: old.region, rendition: old.asked, now: now) {
            case .success(let lease):
                movedTo[id] = .moved(lease)
                moved += 1
            case .failure(let refusal):
                movedTo[id] = .lost(refusal)
                lost += 1
            }
        }
        return (moved, lost)
    }

    public func startAccepting(_ edge: Allocator.EdgeIndex) {
        allocator.setAccepting(edge, true)
    }

    /// After a restart: a stored lease, accounted on its edge again as it was placed, unless
    /// that would pass the edge's capacity (then it is refused and its holder asks again).
    public func restore(_ lease: Lease) -> Bool {
        let edge = lease.placement.edge
        guard allocator.accounted(on: edge) + lease.placement.bitrate <= allocator.capacity(of: edge) else { return false }
        allocator.account(lesson: lease.lesson, edge: edge, bitrate: lease.placement.bitrate)
        record(lease)
        return true
    }

    public func viewers(on edge: Allocator.EdgeIndex) -> Int { onEdge[edge]?.count ?? 0 }

    private func record(_ lease: Lease) {
        leases[lease.id] = lease
        onEdge[lease.placement.edge, default: []].insert(lease.id)
    }
}
