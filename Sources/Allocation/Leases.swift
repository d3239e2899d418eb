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
        /// The lease a move took the viewer from.
        public var replaces: UUID?

        public init(id: UUID, lesson: UUID, network: Network, region: Int, asked: Int, placement: Allocator.Placement, expiresAt: Double, replaces: UUID? = nil) {
            self.id = id
            self.lesson = lesson
            self.network = network
            self.region = region
            self.asked = asked
            self.placement = placement
            self.expiresAt = expiresAt
            self.replaces = replaces
        }
    }

    /// What moving an edge's viewers did: each old lease with its new one, or nowhere.
    public struct Moves: Sendable, Equatable {
        public var moved: [(from: UUID, to: Lease)] = []
        public var lost: [UUID] = []

        public static func == (a: Moves, b: Moves) -> Bool {
            a.lost == b.lost && a.moved.map(\.from) == b.moved.map(\.from) && a.moved.map(\.to) == b.moved.map(\.to)
        }
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
    /// Old lease id → what its holder is told when it renews, for one lease term (so a renewal
    /// answer lost on the way is given again).
    private var movedTo: [UUID: (renewal: Renewal, until: Double)] = [:]

    public init(allocator: Allocator, leaseSeconds: Double = 90) {
        precondition(leaseSeconds > 0)
        self.allocator = allocator
        self.leaseSeconds = leaseSeconds
    }

    public func allocate(
        lesson: UUID, network: Network, region: Int, rendition: Int, now: Double, id: UUID = UUID(), replacing: UUID? = nil
    ) -> Result<Lease, Allocator.Refusal> {
        switch allocator.allocate(lesson: lesson, network: network, region: region, rendition: rendition) {
        case .refused(let refusal):
            return .failure(refusal)
        case .placed(let placement):
            let lease = Lease(
                id: id, lesson: lesson, network: network, region: region, asked: rendition, placement: placement, expiresAt: now + leaseSeconds,
                replaces: replacing
            )
            record(lease)
            return .success(lease)
        }
    }

    public func lease(_ id: UUID) -> Lease? { leases[id] }

    public func renew(_ ids: [UUID], now: Double) -> [UUID: Renewal] {
        var answers: [UUID: Renewal] = [:]
        for id in ids {
            if var lease = leases[id], lease.expiresAt > now {
                lease.expiresAt = now + leaseSeconds
                leases[id] = lease
                answers[id] = .renewed(expiresAt: lease.expiresAt)
            } else if let moved = movedTo[id], moved.until > now {
                answers[id] = follow(moved.renewal, now: now)
            } else {
                answers[id] = .unknown
            }
        }
        return answers
    }

    /// A moved viewer's current place: their new lease, renewed, or where that one went when it
    /// was moved in turn.
    private func follow(_ renewal: Renewal, now: Double) -> Renewal {
        var answer = renewal
        for _ in 0..<8 {
            guard case .moved(var lease) = answer else { return answer }
            if leases[lease.id] != nil {
                lease.expiresAt = now + leaseSeconds
                leases[lease.id]?.expiresAt = lease.expiresAt
                return .moved(lease)
            }
            guard let next = movedTo[lease.id], next.until > now else { return .unknown }
            answer = next.renewal
        }
        return .unknown
    }

    @discardableResult
    public func release(_ id: UUID) -> Bool {
        guard let lease = leases.removeValue(forKey: id) else { return false }
        onEdge[lease.placement.edge]?.remove(id)
        allocator.release(lesson: lease.lesson, edge: lease.placement.edge, bitrate: lease.placement.bitrate)
        return true
    }

    /// Releases every lease not renewed in time and forgets moves nobody asked about; returns
    /// the leases released.
    @discardableResult
    public func expire(now: Double) -> [UUID] {
        let expired = leases.values.filter { $0.expiresAt <= now }.map(\.id)
        for id in expired { release(id) }
        movedTo = movedTo.filter { $0.value.until > now }
        return expired
    }

    /// The edge takes no new viewers (draining, cordoned or down); with `moving`, its viewers
    /// are placed again elsewhere at once.
    @discardableResult
    public func stopAccepting(_ edge: Allocator.EdgeIndex, moving: Bool, now: Double) -> Moves {
        allocator.setAccepting(edge, false)
        guard moving else { return Moves() }
        var moves = Moves()
        for id in onEdge[edge] ?? [] {
            guard let old = leases[id] else { continue }
            release(id)
            switch allocate(lesson: old.lesson, network: old.network, region: old.region, rendition: old.asked, now: now, replacing: id) {
            case .success(let lease):
                movedTo[id] = (.moved(lease), now + leaseSeconds)
                moves.moved.append((id, lease))
            case .failure(let refusal):
                movedTo[id] = (.lost(refusal), now + leaseSeconds)
                moves.lost.append(id)
            }
        }
        return moves
    }

    public func startAccepting(_ edge: Allocator.EdgeIndex) {
        allocator.setAccepting(edge, true)
    }

    /// After a restart: a stored lease, accounted on its edge again as it was placed, unless
    /// that would pass the edge's capacity (then it is refused and its holder asks again).
    /// A restored move is handed out again to the holder of the lease it replaced.
    public func restore(_ lease: Lease) -> Bool {
        let edge = lease.placement.edge
        guard allocator.accounted(on: edge) + lease.placement.bitrate <= allocator.capacity(of: edge) else { return false }
        allocator.account(lesson: lease.lesson, edge: edge, bitrate: lease.placement.bitrate)
        record(lease)
        if let old = lease.replaces { movedTo[old] = (.moved(lease), lease.expiresAt) }
        return true
    }

    public func viewers(on edge: Allocator.EdgeIndex) -> Int { onEdge[edge]?.count ?? 0 }

    private func record(_ lease: Lease) {
        leases[lease.id] = lease
        onEdge[lease.placement.edge, default: []].insert(lease.id)
    }
}
