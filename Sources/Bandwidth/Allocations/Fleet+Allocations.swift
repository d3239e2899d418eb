import Allocation
import Foundation
import InternalProtocol
import Reference

/// Allocations over the fleet: every decision under the fleet's one lock, every change to what
/// is stored recorded in the journal inside it (so the journal's order is the decisions' order).
extension Fleet {
    enum Placed {
        case placed(Allocation, journalSequence: UInt64)
        case refused(Allocator.Refusal)
        /// The id is another lesson's allocation.
        case idTaken
    }

    /// Places a viewer. A network or region that is not known is the roomiest one for the
    /// part that is (the whole fleet's roomiest pool when neither is).
    func allocate(id: UUID, lesson: UUID, network: Network?, region: Int?, rendition: Int, now: Date) -> Placed {
        state.withLock { state in
            let leases = state.leases
            if let held = leases.lease(id) {
                guard held.lesson == lesson else { return .idTaken }
                return .placed(allocation(held, in: state), journalSequence: journal.lastRecorded)
            }
            let roomiest = network != nil && region != nil ? nil
                : leases.allocator.roomiest(network: network, region: region) ?? leases.allocator.roomiest(network: nil, region: nil)
            guard let viewerNetwork = network ?? roomiest?.network, let viewerRegion = region ?? roomiest?.region else {
                return .refused(Allocator.Refusal(reason: .noCapacity, retryAfterSeconds: policy.retryAfterSeconds))
            }
            switch leases.allocate(lesson: lesson, network: viewerNetwork, region: viewerRegion, rendition: rendition, now: now.timeIntervalSince1970, id: id) {
            case .failure(let refusal):
                return .refused(refusal)
            case .success(let lease):
                let sequence = journal.record(.insert(stored(lease, in: state)))
                return .placed(allocation(lease, in: state), journalSequence: sequence)
            }
        }
    }

    func renew(_ ids: [UUID], now: Date) -> [Renewal] {
        state.withLock { state in
            let answers = state.leases.renew(ids, now: now.timeIntervalSince1970)
            return ids.map { id in
                switch answers[id] ?? .unknown {
                case .renewed(let expiresAt):
                    Renewal(allocationID: id, state: .renewed, expiresAt: Date(timeIntervalSince1970: expiresAt))
                case .moved(let lease):
                    Renewal(allocationID: id, state: .moved, expiresAt: Date(timeIntervalSince1970: lease.expiresAt), movedTo: allocation(lease, in: state))
                case .lost(let refusal):
                    Renewal(allocationID: id, state: .lost, retryAfterSeconds: refusal.retryAfterSeconds)
                case .unknown:
                    Renewal(allocationID: id, state: .unknown)
                }
            }
        }
    }

    /// Returns how many were held.
    func release(_ ids: [UUID]) -> Int {
        state.withLock { state in
            var released = 0
            for id in ids where state.leases.release(id) {
                journal.record(.delete(id))
                released += 1
            }
            return released
        }
    }

    /// Releases what was not renewed in time; returns how many.
    func expireLeases(now: Date) -> Int {
        state.withLock { state in
            let expired = state.leases.expire(now: now.timeIntervalSince1970)
            for id in expired { journal.record(.delete(id)) }
            return expired.count
        }
    }

    var allocationCount: Int { state.withLock { $0.leases.leases.count } }

    /// After a restart: the stored allocations accounted again on their edges (each given a
    /// fresh term: renewals are not stored), none past an edge's capacity; a draining edge's
    /// viewers are then moved as they would have been. Every edge is down until it reports; an
    /// edge still silent after one report window has its viewers moved. Returns how many were
    /// restored and how many dropped.
    func restore(_ stored: [StoredAllocation], now: Date) -> (restored: Int, dropped: Int) {
        state.withLock { state in
            let leases = state.leases
            var restored = 0, dropped = 0
            for row in stored {
                guard let entry = state.entries[row.edgeID], let lease = lease(from: row, on: entry, expiresAt: now.timeIntervalSince1970 + leases.leaseSeconds), leases.restore(lease) else {
                    journal.record(.delete(row.id))
                    dropped += 1
                    continue
                }
                restored += 1
            }
            for (id, var entry) in state.entries {
                entry.silentSinceLoadUntil = now.addingTimeInterval(silenceLimit)
                state.entries[id] = entry
                if entry.edge.adminState == .draining { moveViewers(off: entry.index, in: state) }
            }
            return (restored, dropped)
        }
    }

    /// Stops the edge taking viewers and places its viewers elsewhere, recording the moves.
    func moveViewers(off edge: Allocator.EdgeIndex, in state: State) {
        let moves = state.leases.stopAccepting(edge, moving: true, now: Date().timeIntervalSince1970)
        for move in moves.moved {
            journal.record(.delete(move.from))
            journal.record(.insert(stored(move.to, in: state)))
        }
        for id in moves.lost { journal.record(.delete(id)) }
    }

    // MARK: Conversions

    private func allocation(_ lease: Leases.Lease, in state: State) -> Allocation {
        let edgeID = state.edgeIDs[Int(lease.placement.edge)]
        let edge = state.entries[edgeID]?.edge
        return Allocation(
            allocationID: lease.id, lessonID: lease.lesson, edgeID: edgeID, edgeName: edge?.name ?? "", baseURL: edge?.baseURL ?? "",
            rendition: policy.renditions[lease.placement.rendition].name, bitrateMbps: lease.placement.bitrate,
            network: (edge?.network ?? lease.network).rawValue, region: edge?.region ?? Region.all[lease.region].code,
            crossNetwork: lease.placement.crossNetwork, crossRegion: lease.placement.crossRegion, downgraded: lease.placement.downgraded,
            expiresAt: Date(timeIntervalSince1970: lease.expiresAt)
        )
    }

    private func stored(_ lease: Leases.Lease, in state: State) -> StoredAllocation {
        StoredAllocation(
            id: lease.id, lessonID: lease.lesson, edgeID: state.edgeIDs[Int(lease.placement.edge)], network: lease.network.rawValue,
            region: Region.all[lease.region].code, askedRendition: policy.renditions[lease.asked].name,
            rendition: policy.renditions[lease.placement.rendition].name, bitrateMbps: lease.placement.bitrate, replaces: lease.replaces
        )
    }

    private func lease(from row: StoredAllocation, on entry: Entry, expiresAt: Double) -> Leases.Lease? {
        guard let network = Network(rawValue: row.network), let region = Allocator.regionIndex(row.region),
            let asked = policy.renditions.firstIndex(where: { $0.name == row.askedRendition }),
            let rendition = policy.renditions.firstIndex(where: { $0.name == row.rendition })
        else { return nil }
        let placement = Allocator.Placement(
            edge: entry.index, rendition: rendition, bitrate: row.bitrateMbps, crossNetwork: network != entry.edge.network,
            crossRegion: row.region != entry.edge.region, downgraded: rendition > asked
        )
        return Leases.Lease(
            id: row.id, lesson: row.lessonID, network: network, region: region, asked: asked, placement: placement,
            expiresAt: expiresAt, replaces: row.replaces
        )
    }
}
