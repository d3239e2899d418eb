import Allocation
import Foundation
import Hummingbird
import ServiceKit
import Synchronization

/// What an administrator decides about an edge.
public enum AdminState: String, Codable, Sendable, CaseIterable {
    /// Takes new viewers.
    case active
    /// Takes no new viewers; the ones it has are moved.
    case draining
    /// Takes no new viewers; the ones it has stay.
    case cordoned
}

/// What the edge's reports decide: three missed reports and it is down.
public enum Health: String, Codable, Sendable {
    case up, down
}

/// An edge's load report: what it served in the last second.
public struct EdgeReport: Codable, Sendable, Equatable {
    public var egress_mbps: Double
    public var viewers: Int
    /// Percent of one core times cores, 0 to 100 × cores; only recorded.
    public var cpu: Double
}

/// One edge as the fleet holds it.
public struct Edge: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var baseURL: String
    public var network: Network
    public var region: String
    public var capacityMbps: Double
    public var adminState: AdminState
    public var createdAt: Date
    public var updatedAt: Date
}

/// The fleet in memory: every edge's record, its report token's hash, its health and last
/// report, and the allocation core's view of which edges take viewers. One instance of the
/// service owns it (a later issue shards it); the database holds what must outlive a restart.
public final class Fleet: Sendable {
    public struct Status: Sendable, Equatable {
        public var edge: Edge
        public var health: Health
        public var lastReport: EdgeReport?
        public var lastReportAt: Date?
    }

    struct Entry {
        var edge: Edge
        var tokenHash: Data
        var health: Health = .down
        var lastReport: EdgeReport?
        var lastReportAt: Date?
        var index: Allocator.EdgeIndex
        /// After a restart every edge is down until it reports; one still silent when this
        /// passes has its restored viewers moved.
        var silentSinceLoadUntil: Date?
    }

    struct State {
        var entries: [UUID: Entry] = [:]
        /// Edge ids by allocator index (an index is never reused).
        var edgeIDs: [UUID] = []
        let leases: Leases
    }

    private let loaded = Mutex(false)
    public var isLoaded: Bool { loaded.withLock { $0 } }
    func markLoaded() { loaded.withLock { $0 = true } }

    /// Seconds between an edge's reports, and how many may be missed before it is down.
    public let reportInterval: Double
    public let missedReports: Int
    let state: Mutex<State>
    /// Allocations as they must be stored: written in batches, an allocation answered once its
    /// batch has committed.
    let journal = AllocationJournal()
    public let policy: AllocationPolicy

    public init(reportInterval: Double = 1, missedReports: Int = 3, policy: AllocationPolicy = AllocationPolicy(), leaseSeconds: Double = 90) {
        self.reportInterval = reportInterval
        self.missedReports = missedReports
        self.policy = policy
        state = Mutex(State(leases: Leases(allocator: Allocator(policy: policy), leaseSeconds: leaseSeconds)))
    }

    /// How long an edge may be silent before it is down.
    var silenceLimit: Double { reportInterval * Double(missedReports) }

    /// Until the fleet is loaded (a moment after start) its routes answer 503 rather than act on
    /// an empty fleet, an empty network table or unrestored allocations.
    func whenLoaded<Caller, Output>(
        _ handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) -> @Sendable (Request, CallerContext<Caller>) async throws -> Output {
        { [self] request, context in
            guard isLoaded else { throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "The fleet is being loaded; try again in a moment.") }
            return try await handler(request, context)
        }
    }

    /// Adds or replaces an edge's record (it starts down: no report yet).
    func put(_ edge: Edge, tokenHash: Data) {
        state.withLock { state in
            if var entry = state.entries[edge.id] {
                entry.edge = edge
                entry.tokenHash = tokenHash
                state.entries[edge.id] = entry
                state.leases.allocator.setCapacity(entry.index, edge.capacityMbps)
                updateAccepting(entry, in: state)
            } else {
                let region = Allocator.regionIndex(edge.region) ?? 0
                let index = state.leases.allocator.addEdge(network: edge.network, region: region, capacity: edge.capacityMbps)
                let entry = Entry(edge: edge, tokenHash: tokenHash, index: index)
                state.entries[edge.id] = entry
                state.edgeIDs.append(edge.id)
                updateAccepting(entry, in: state)
            }
        }
    }

    func remove(_ id: UUID) {
        state.withLock { state in
            guard let entry = state.entries[id] else { return }
            moveViewers(off: entry.index, in: state)
            state.entries[id] = nil
        }
    }

    /// An edge takes new viewers when an administrator lets it (active) and its reports say it
    /// is up. Draining or down, its viewers are moved — except an edge not yet heard from since
    /// a restart, whose viewers wait out its first report window.
    func updateAccepting(_ entry: Entry, in state: State) {
        let accepting = entry.edge.adminState == .active && entry.health == .up
        if accepting {
            state.leases.startAccepting(entry.index)
        } else if entry.edge.adminState == .draining || (entry.health == .down && entry.silentSinceLoadUntil == nil) {
            moveViewers(off: entry.index, in: state)
        } else {
            state.leases.stopAccepting(entry.index, moving: false, now: Date().timeIntervalSince1970)
        }
    }

    func tokenHash(of id: UUID) -> Data? {
        state.withLock { $0.entries[id]?.tokenHash }
    }

    public func status(_ id: UUID) -> Status? {
        state.withLock { state in
            state.entries[id].map { Status(edge: $0.edge, health: $0.health, lastReport: $0.lastReport, lastReportAt: $0.lastReportAt) }
        }
    }

    public var all: [Status] {
        state.withLock { state in
            state.entries.values.map { Status(edge: $0.edge, health: $0.health, lastReport: $0.lastReport, lastReportAt: $0.lastReportAt) }
                .sorted { $0.edge.name < $1.edge.name }
        }
    }

    /// Whether `token` is the edge's report token.
    func accepts(token: String, for id: UUID) -> Bool {
        guard let stored = tokenHash(of: id) else { return false }
        return SecretToken.matches(token, digest: stored)
    }

    /// Records a report; returns true when it brought the edge back up.
    func report(_ report: EdgeReport, from id: UUID, at now: Date) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[id] else { return false }
            entry.lastReport = report
            entry.lastReportAt = now
            let cameUp = entry.health == .down
            entry.health = .up
            entry.silentSinceLoadUntil = nil
            state.entries[id] = entry
            if cameUp { updateAccepting(entry, in: state) }
            return cameUp
        }
    }

    /// Marks down every up edge silent for `missedReports` intervals, and gives up on edges
    /// silent since a restart; returns them.
    func markSilentEdgesDown(at now: Date) -> [UUID] {
        state.withLock { state in
            var down: [UUID] = []
            for (id, var entry) in state.entries {
                if entry.health == .up, let last = entry.lastReportAt, now.timeIntervalSince(last) >= silenceLimit {
                    entry.health = .down
                } else if let until = entry.silentSinceLoadUntil, now >= until {
                    entry.silentSinceLoadUntil = nil
                } else {
                    continue
                }
                state.entries[id] = entry
                updateAccepting(entry, in: state)
                down.append(id)
            }
            return down
        }
    }
}
