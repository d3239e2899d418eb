import Foundation
import Reference

/// A national morning for the allocation core: every province's pupils join lessons that start
/// within a few minutes, on the operators' networks in their province's shares, served by a
/// fleet placed in proportion to where the viewers are. Pure computation: the caller supplies
/// the network shares (from the prefix lists) and prints the outcome.
public struct NationalMorning: Sendable {
    public struct Setup: Sendable {
        public var viewers = 50_000_000
        public var edges = 7_000
        /// Per edge, Mbit/s: ~90 Tbit/s lent by the operators over ~7,000 servers (February 2020).
        public var edgeCapacity = 13_000.0
        public var lessons = 20_000
        /// Lessons start within this many minutes; their pupils join in waves, minute by minute.
        public var startWindowMinutes = 10
        /// Share of viewers whose player asks for the best rendition; the rest ask for the second.
        public var bestRenditionShare = 0.4
        public var seed: UInt64 = 2020_02_17
        public var policy = AllocationPolicy()
        public init() {}
    }

    public struct Outcome: Sendable {
        public var decisions = 0
        public var placed = 0
        public var refused = 0
        public var downgraded = 0
        public var crossNetwork = 0
        public var crossRegion = 0
        /// Seconds spent inside `allocate` alone.
        public var decisionSeconds = 0.0
        public var worstUtilisation = 0.0
        public var meanUtilisation = 0.0
        /// The highest hottest-edge ÷ pool-mean over pools at least half full.
        public var worstPoolSpread = 0.0
        public var poolsHalfFull = 0
        public var edges = 0
        public var decisionsPerSecond: Double { decisionSeconds > 0 ? Double(decisions) / decisionSeconds : 0 }
    }

    public let setup: Setup
    public let shares: AddressShares

    public init(setup: Setup, shares: AddressShares) {
        self.setup = setup
        self.shares = shares
    }

    /// Each pool's share of all viewers: the region's share of the population times the
    /// network's share of the region's addresses.
    var poolShares: [(network: Network, region: Int, share: Double)] {
        let population = Region.all.map { Double(RegionFacts.of($0.code)!.population) }
        let total = population.reduce(0, +)
        var result: [(Network, Int, Double)] = []
        for region in Region.all.indices {
            for (networkIndex, network) in Network.allCases.enumerated() {
                let share = population[region] / total * shares.shares[region][networkIndex]
                if share > 0 { result.append((network, region, share)) }
            }
        }
        return result
    }

    /// The fleet: `edges` edges spread over the pools in proportion to their viewers (largest
    /// remainder), at least one per pool that has viewers.
    public func fleet() -> Allocator {
        let allocator = Allocator(policy: setup.policy)
        let pools = poolShares
        var counts = pools.map { max(1, Int(($0.share * Double(setup.edges)).rounded(.down))) }
        var remainders = pools.indices.map { (index: $0, rest: pools[$0].share * Double(setup.edges) - Double(counts[$0])) }
        remainders.sort { $0.rest > $1.rest }
        var index = 0
        while counts.reduce(0, +) < setup.edges && !remainders.isEmpty {
            counts[remainders[index % remainders.count].index] += 1
            index += 1
        }
        for (pool, count) in zip(pools, counts) {
            for _ in 0..<count { allocator.addEdge(network: pool.network, region: pool.region, capacity: setup.edgeCapacity) }
        }
        return allocator
    }

    /// One viewer joining: their lesson, network, region (an index into `Region.all`) and the
    /// rendition their player asks for.
    public struct Viewer: Sendable {
        public var lesson: UUID
        public var network: Network
        public var region: Int
        public var rendition: Int
    }

    /// Every viewer of the morning in the order they join, with the minute of the window they
    /// join in. Lessons belong to a region (their school's), in proportion to its population, and
    /// start in one minute of the window; a minute's viewers join the lessons starting then.
    public func forEachViewer(_ body: (Viewer, Int) -> Void) {
        var random = SplitMix64(seed: setup.seed)
        let pools = poolShares
        let cumulative = pools.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1.share) }
        let population = Region.all.map { Double(RegionFacts.of($0.code)!.population) }
        let regionCumulative = population.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
        var lessonsByMinuteAndRegion = Array(repeating: Array(repeating: [UUID](), count: Region.all.count), count: setup.startWindowMinutes)
        var lessonsByMinute = Array(repeating: [UUID](), count: setup.startWindowMinutes)
        for _ in 0..<max(1, setup.lessons) {
            let lesson = random.uuid()
            let region = Self.pick(regionCumulative, random.unit() * regionCumulative.last!)
            let minute = Int(random.next() % UInt64(setup.startWindowMinutes))
            lessonsByMinuteAndRegion[minute][region].append(lesson)
            lessonsByMinute[minute].append(lesson)
        }
        let anyLesson = lessonsByMinute.first { !$0.isEmpty }![0]
        let perMinute = setup.viewers / setup.startWindowMinutes
        for minute in 0..<setup.startWindowMinutes {
            let joining = minute == setup.startWindowMinutes - 1 ? setup.viewers - perMinute * minute : perMinute
            for _ in 0..<joining {
                let pool = pools[Self.pick(cumulative, random.unit() * cumulative.last!)]
                let local = lessonsByMinuteAndRegion[minute][pool.region]
                let choices = local.isEmpty ? lessonsByMinute[minute] : local
                let lesson = choices.isEmpty ? anyLesson : choices[Int(random.next() % UInt64(choices.count))]
                let rendition = random.unit() < setup.bestRenditionShare ? 0 : 1
                body(Viewer(lesson: lesson, network: pool.network, region: pool.region, rendition: rendition), minute)
            }
        }
    }

    /// Runs the morning; `progress` is told the decisions made so far now and then. Viewers are
    /// made in batches, and only the allocation of each batch is timed.
    public func run(progress: (Int) -> Void = { _ in }) -> (outcome: Outcome, allocator: Allocator) {
        let allocator = fleet()
        var outcome = Outcome()
        outcome.edges = allocator.edgeCount
        let batchSize = 1 << 20
        var batch: [Viewer] = []
        batch.reserveCapacity(batchSize)
        func decide() {
            let started = ContinuousClock.now
            for viewer in batch {
                switch allocator.allocate(lesson: viewer.lesson, network: viewer.network, region: viewer.region, rendition: viewer.rendition) {
                case .placed(let placement):
                    outcome.placed += 1
                    if placement.downgraded { outcome.downgraded += 1 }
                    if placement.crossNetwork { outcome.crossNetwork += 1 }
                    if placement.crossRegion { outcome.crossRegion += 1 }
                case .refused:
                    outcome.refused += 1
                }
            }
            let elapsed = ContinuousClock.now - started
            outcome.decisionSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            outcome.decisions += batch.count
            batch.removeAll(keepingCapacity: true)
            progress(outcome.decisions)
        }
        forEachViewer { viewer, _ in
            batch.append(viewer)
            if batch.count == batchSize { decide() }
        }
        if !batch.isEmpty { decide() }
        var capacity = 0.0, accounted = 0.0
        for edge in 0..<allocator.edgeCount {
            let index = Allocator.EdgeIndex(edge)
            capacity += allocator.capacity(of: index)
            accounted += allocator.accounted(on: index)
            outcome.worstUtilisation = max(outcome.worstUtilisation, allocator.utilisation(of: index))
        }
        outcome.meanUtilisation = capacity > 0 ? accounted / capacity : 0
        for pool in allocator.poolFigures() where pool.mean >= 0.5 {
            outcome.poolsHalfFull += 1
            outcome.worstPoolSpread = max(outcome.worstPoolSpread, pool.hottest / pool.mean)
        }
        return (outcome, allocator)
    }

    /// The index of the first cumulative weight above `value` (binary search).
    static func pick(_ cumulative: [Double], _ value: Double) -> Int {
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > value { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// A small, fast, seeded generator (Steele, Lea and Flood's SplitMix64), so a morning can be
/// run again exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// True with `probability`.
    public mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    public mutating func uuid() -> UUID {
        let a = next(), b = next()
        return withUnsafeBytes(of: (a, b)) { bytes in
            UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        }
    }
}
