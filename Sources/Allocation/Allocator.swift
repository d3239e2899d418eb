import Foundation
import Reference

/// Chooses an edge and a rendition for each viewer of a lesson, and accounts for it at once.
///
/// Edges are grouped in pools, one per (network, region). A viewer is tried, in order: their
/// own network in their own region, then in the nearest regions, at their preferred rendition;
/// then the same one rendition lower, down to the lowest video rendition; then the other
/// networks the same way; then audio only; then refused, with a time to retry. Within a pool the
/// edge that last took this lesson is kept while it runs at most `affinitySlack` above the
/// pool's mean utilisation (so a lesson fans out to few edges), otherwise the least utilised edge
/// takes the viewer — a heap per pool, so a decision costs a few hash lookups and a sift, never
/// a scan of the fleet. Each allocation is accounted at its rendition's bitrate the moment it is
/// made, so viewers arriving together cannot herd onto one edge between load reports, and no
/// edge is ever promised more than its capacity.
///
/// Not thread-safe: one owner (the service wraps it in a lock; `simulate` runs it alone).
public final class Allocator {
    public typealias EdgeIndex = Int32

    struct Edge {
        var pool: Int32
        var capacity: Double
        var accounted: Double
        var accepting: Bool
        /// Its place in its pool's heap while accepting, else -1.
        var heapSlot: Int32
    }

    struct Pool {
        var heap: [EdgeIndex] = []
        /// Capacity and accounted load of the edges accepting viewers.
        var capacity: Double = 0
        var accounted: Double = 0
        var mean: Double { capacity > 0 ? accounted / capacity : 0 }
    }

    struct LessonPool: Hashable {
        var lesson: UUID
        var pool: Int32
    }

    struct LessonEdge: Hashable {
        var lesson: UUID
        var edge: EdgeIndex
    }

    public let policy: AllocationPolicy
    let regionCount = Region.all.count
    private(set) var edges: [Edge] = []
    private(set) var pools: [Pool]
    /// The regions nearest each region's capital, nearest first.
    let neighbours: [[Int]]
    /// The edge that last took a viewer of a lesson in a pool: kept while not too hot.
    private var lastCarrier: [LessonPool: EdgeIndex] = [:]
    /// Viewers of each lesson on each edge (which lessons an edge carries, for fan-out and moves).
    private(set) var viewers: [LessonEdge: Int32] = [:]
    let lowestVideo: Int

    public init(policy: AllocationPolicy = AllocationPolicy()) {
        precondition(!policy.renditions.isEmpty, "a ladder needs at least one rendition")
        self.policy = policy
        pools = Array(repeating: Pool(), count: Network.allCases.count * Region.all.count)
        let facts = Region.all.map { RegionFacts.of($0.code)! }
        neighbours = facts.indices.map { index in
            facts.indices.filter { $0 != index }.sorted { facts[index].distance(to: facts[$0]) < facts[index].distance(to: facts[$1]) }
        }
        lowestVideo = policy.renditions.lastIndex(where: \.isVideo) ?? policy.renditions.count - 1
    }

    // MARK: The fleet

    public static func regionIndex(_ code: String) -> Int? { Region.all.firstIndex { $0.code == code } }

    func poolIndex(network: Network, region: Int) -> Int32 {
        Int32(Network.allCases.firstIndex(of: network)! * regionCount + region)
    }

    /// A new edge, accepting viewers; returns its index.
    @discardableResult
    public func addEdge(network: Network, region: Int, capacity: Double) -> EdgeIndex {
        precondition(capacity > 0 && capacity.isFinite, "capacity must be positive")
        let index = EdgeIndex(edges.count)
        edges.append(Edge(pool: poolIndex(network: network, region: region), capacity: capacity, accounted: 0, accepting: false, heapSlot: -1))
        setAccepting(index, true)
        return index
    }

    /// Draining, cordoned or down edges take no new viewers; their accounted viewers stay until released.
    public func setAccepting(_ edge: EdgeIndex, _ accepting: Bool) {
        guard edges[Int(edge)].accepting != accepting else { return }
        let pool = Int(edges[Int(edge)].pool)
        edges[Int(edge)].accepting = accepting
        if accepting {
            pools[pool].capacity += edges[Int(edge)].capacity
            pools[pool].accounted += edges[Int(edge)].accounted
            pools[pool].heap.append(edge)
            edges[Int(edge)].heapSlot = Int32(pools[pool].heap.count - 1)
            siftUp(pool, Int(edges[Int(edge)].heapSlot))
        } else {
            pools[pool].capacity -= edges[Int(edge)].capacity
            pools[pool].accounted -= edges[Int(edge)].accounted
            removeFromHeap(pool, Int(edges[Int(edge)].heapSlot))
            edges[Int(edge)].heapSlot = -1
        }
    }

    /// A new capacity. Lowered below what the edge carries, it takes no new viewers until
    /// enough leave; nobody is dropped.
    public func setCapacity(_ edge: EdgeIndex, _ capacity: Double) {
        precondition(capacity > 0 && capacity.isFinite, "capacity must be positive")
        let pool = Int(edges[Int(edge)].pool)
        if edges[Int(edge)].accepting {
            pools[pool].capacity += capacity - edges[Int(edge)].capacity
        }
        edges[Int(edge)].capacity = capacity
        if edges[Int(edge)].accepting {
            siftUp(pool, Int(edges[Int(edge)].heapSlot))
            siftDown(pool, Int(edges[Int(edge)].heapSlot))
        }
    }

    public var edgeCount: Int { edges.count }
    public func capacity(of edge: EdgeIndex) -> Double { edges[Int(edge)].capacity }
    public func accounted(on edge: EdgeIndex) -> Double { edges[Int(edge)].accounted }
    public func utilisation(of edge: EdgeIndex) -> Double { edges[Int(edge)].accounted / edges[Int(edge)].capacity }
    public func network(of edge: EdgeIndex) -> Network { Network.allCases[Int(edges[Int(edge)].pool) / regionCount] }
    public func region(of edge: EdgeIndex) -> Int { Int(edges[Int(edge)].pool) % regionCount }
    /// The pool with the most room for new viewers, among those of `network` and `region` when
    /// given: where a viewer whose network or region is unknown is best served.
    public func roomiest(network: Network?, region: Int?) -> (network: Network, region: Int)? {
        var best: (network: Network, region: Int)?
        var bestRoom = 0.0
        for (n, candidate) in Network.allCases.enumerated() where network == nil || network == candidate {
            for r in 0..<regionCount where region == nil || region == r {
                let pool = pools[n * regionCount + r]
                if pool.capacity - pool.accounted > bestRoom {
                    bestRoom = pool.capacity - pool.accounted
                    best = (candidate, r)
                }
            }
        }
        return best
    }

    /// How many edges carry viewers of `lesson`.
    public func fanOut(of lesson: UUID) -> Int { viewers.keys.filter { $0.lesson == lesson }.count }

    // MARK: Decisions

    /// Where a viewer goes, or why not.
    public enum Decision: Sendable, Equatable {
        case placed(Placement)
        case refused(Refusal)
    }

    public struct Placement: Sendable, Equatable {
        public var edge: EdgeIndex
        /// Index into the policy's renditions.
        public var rendition: Int
        public var bitrate: Double
        public var crossNetwork: Bool
        public var crossRegion: Bool
        /// Served below the rendition the viewer asked for.
        public var downgraded: Bool

        public init(edge: EdgeIndex, rendition: Int, bitrate: Double, crossNetwork: Bool, crossRegion: Bool, downgraded: Bool) {
            self.edge = edge
            self.rendition = rendition
            self.bitrate = bitrate
            self.crossNetwork = crossNetwork
            self.crossRegion = crossRegion
            self.downgraded = downgraded
        }
    }

    public struct Refusal: Error, Sendable, Equatable {
        public enum Reason: String, Sendable {
            /// Every edge the ladder may use is full.
            case noCapacity = "no_capacity"
        }
        public var reason: Reason
        public var retryAfterSeconds: Double

        public init(reason: Reason, retryAfterSeconds: Double) {
            self.reason = reason
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// Places one viewer of `lesson`, from `region` (an index into `Region.all`) on `network`,
    /// asking for `rendition` (an index into the policy's renditions, best first).
    public func allocate(lesson: UUID, network: Network, region: Int, rendition preferred: Int = 0) -> Decision {
        let own = poolIndex(network: network, region: region)
        let asked = min(max(preferred, 0), policy.renditions.count - 1)
        let first = max(asked, floor(of: own))
        let video = first...max(first, lowestVideo)
        // Own network: own region, then the nearest, rendition by rendition.
        for rendition in video {
            if let placed = place(lesson, in: own, rendition: rendition, preferred: asked, crossNetwork: false, crossRegion: false) { return placed }
            for neighbour in neighbours[region].prefix(policy.nearbyRegions) {
                let pool = poolIndex(network: network, region: neighbour)
                if let placed = place(lesson, in: pool, rendition: rendition, preferred: asked, crossNetwork: false, crossRegion: true) { return placed }
            }
        }
        if policy.crossNetwork {
            for rendition in video {
                for other in Network.allCases where other != network {
                    let pool = poolIndex(network: other, region: region)
                    if let placed = place(lesson, in: pool, rendition: rendition, preferred: asked, crossNetwork: true, crossRegion: false) { return placed }
                    for neighbour in neighbours[region].prefix(policy.nearbyRegions) {
                        let pool = poolIndex(network: other, region: neighbour)
                        if let placed = place(lesson, in: pool, rendition: rendition, preferred: asked, crossNetwork: true, crossRegion: true) { return placed }
                    }
                }
            }
        }
        // Audio only, own network first, before refusing.
        for rendition in policy.renditions.indices where rendition > lowestVideo && rendition > first {
            for candidate in [network] + (policy.crossNetwork ? Network.allCases.filter { $0 != network } : []) {
                for (index, regionIndex) in ([region] + neighbours[region].prefix(policy.nearbyRegions)).enumerated() {
                    let pool = poolIndex(network: candidate, region: regionIndex)
                    if let placed = place(lesson, in: pool, rendition: rendition, preferred: asked, crossNetwork: candidate != network, crossRegion: index > 0) {
                        return placed
                    }
                }
            }
        }
        return .refused(Refusal(reason: .noCapacity, retryAfterSeconds: policy.retryAfterSeconds))
    }

    /// Accounts a viewer of `lesson` on `edge` at `bitrate`: what a placement does, and what a
    /// restart does for each lease it finds stored.
    public func account(lesson: UUID, edge: EdgeIndex, bitrate: Double) {
        let pool = Int(edges[Int(edge)].pool)
        edges[Int(edge)].accounted += bitrate
        if edges[Int(edge)].accepting {
            pools[pool].accounted += bitrate
            siftDown(pool, Int(edges[Int(edge)].heapSlot))
        }
        viewers[LessonEdge(lesson: lesson, edge: edge), default: 0] += 1
    }

    /// Gives back what a placement accounted (the viewer left, or moved).
    public func release(lesson: UUID, edge: EdgeIndex, bitrate: Double) {
        let key = LessonEdge(lesson: lesson, edge: edge)
        guard let count = viewers[key] else { return }
        if count <= 1 { viewers.removeValue(forKey: key) } else { viewers[key] = count - 1 }
        let pool = Int(edges[Int(edge)].pool)
        edges[Int(edge)].accounted = max(0, edges[Int(edge)].accounted - bitrate)
        if edges[Int(edge)].accepting {
            pools[pool].accounted = max(0, pools[pool].accounted - bitrate)
            siftUp(pool, Int(edges[Int(edge)].heapSlot))
        }
    }

    /// The best rendition a pool still hands out, by how full it is (`stepDownAt`).
    private func floor(of pool: Int32) -> Int {
        let mean = pools[Int(pool)].mean
        var floor = 0
        for threshold in policy.stepDownAt where mean >= threshold { floor += 1 }
        return min(floor, lowestVideo)
    }

    private func place(_ lesson: UUID, in pool: Int32, rendition: Int, preferred: Int, crossNetwork: Bool, crossRegion: Bool) -> Decision? {
        let bitrate = policy.renditions[rendition].bitrate
        // Cheap refusals first: a pool whose free total cannot hold the viewer, or that no longer
        // hands out this rendition.
        guard pools[Int(pool)].capacity - pools[Int(pool)].accounted >= bitrate, rendition >= floor(of: pool) else { return nil }
        guard let edge = choose(lesson, in: Int(pool), bitrate: bitrate) else { return nil }
        account(lesson: lesson, edge: edge, bitrate: bitrate)
        return .placed(Placement(edge: edge, rendition: rendition, bitrate: bitrate, crossNetwork: crossNetwork, crossRegion: crossRegion, downgraded: rendition > preferred))
    }

    /// The lesson's last edge in this pool while it has room and is not too hot, else the least
    /// utilised edge with room; nil when none has room.
    private func choose(_ lesson: UUID, in pool: Int, bitrate: Double) -> EdgeIndex? {
        let heap = pools[pool].heap
        guard !heap.isEmpty else { return nil }
        let key = LessonPool(lesson: lesson, pool: Int32(pool))
        let ceiling = (1 + policy.affinitySlack) * pools[pool].mean
        if let carrier = lastCarrier[key] {
            let edge = edges[Int(carrier)]
            if edge.accepting, edge.accounted + bitrate <= edge.capacity, edge.accounted / edge.capacity <= ceiling { return carrier }
        }
        var chosen = heap[0]
        if edges[Int(chosen)].accounted + bitrate > edges[Int(chosen)].capacity {
            // The least utilised has no room (capacities differ): any other that has.
            guard let roomy = heap.first(where: { edges[Int($0)].accounted + bitrate <= edges[Int($0)].capacity }) else { return nil }
            chosen = roomy
        }
        lastCarrier[key] = chosen
        return chosen
    }

    // MARK: The pools' heaps, least utilised on top

    private func utilisationAt(_ pool: Int, _ slot: Int) -> Double {
        let edge = edges[Int(pools[pool].heap[slot])]
        return edge.accounted / edge.capacity
    }

    private func swapSlots(_ pool: Int, _ a: Int, _ b: Int) {
        pools[pool].heap.swapAt(a, b)
        edges[Int(pools[pool].heap[a])].heapSlot = Int32(a)
        edges[Int(pools[pool].heap[b])].heapSlot = Int32(b)
    }

    private func siftUp(_ pool: Int, _ start: Int) {
        var slot = start
        while slot > 0 {
            let parent = (slot - 1) / 2
            guard utilisationAt(pool, slot) < utilisationAt(pool, parent) else { return }
            swapSlots(pool, slot, parent)
            slot = parent
        }
    }

    private func siftDown(_ pool: Int, _ start: Int) {
        var slot = start
        let count = pools[pool].heap.count
        while true {
            let left = 2 * slot + 1
            guard left < count else { return }
            var smallest = left
            if left + 1 < count, utilisationAt(pool, left + 1) < utilisationAt(pool, left) { smallest = left + 1 }
            guard utilisationAt(pool, smallest) < utilisationAt(pool, slot) else { return }
            swapSlots(pool, slot, smallest)
            slot = smallest
        }
    }

    private func removeFromHeap(_ pool: Int, _ slot: Int) {
        let last = pools[pool].heap.count - 1
        if slot != last { swapSlots(pool, slot, last) }
        pools[pool].heap.removeLast()
        if slot < pools[pool].heap.count {
            siftDown(pool, slot)
            siftUp(pool, slot)
        }
    }

    // MARK: Figures

    public struct PoolFigures: Sendable {
        public var network: Network
        public var region: Int
        public var edges: Int
        public var capacity: Double
        public var accounted: Double
        public var mean: Double
        public var hottest: Double
    }

    /// Each pool with accepting edges: its mean and hottest edge's utilisation.
    public func poolFigures() -> [PoolFigures] {
        pools.indices.compactMap { index in
            let pool = pools[index]
            guard !pool.heap.isEmpty else { return nil }
            let hottest = pool.heap.map { edges[Int($0)].accounted / edges[Int($0)].capacity }.max() ?? 0
            return PoolFigures(
                network: Network.allCases[index / regionCount], region: index % regionCount, edges: pool.heap.count,
                capacity: pool.capacity, accounted: pool.accounted, mean: pool.mean, hottest: hottest
            )
        }
    }
}
