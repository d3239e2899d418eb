import Allocation
import Foundation
import Reference
import Testing

@Suite struct AllocatorTests {
    static let hubei = Allocator.regionIndex("420000")!
    static let jiangxi = Allocator.regionIndex("360000")!  // Nanchang is the capital nearest Wuhan (~260 km)
    static let tibet = Allocator.regionIndex("540000")!

    func placement(_ decision: Allocator.Decision) throws -> Allocator.Placement {
        guard case .placed(let placement) = decision else { throw Failure("refused: \(decision)") }
        return placement
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func theLadderGoesOwnPoolNearbyRegionLowerRenditionOtherNetworkAudioRefuse() throws {
        var policy = AllocationPolicy()
        policy.nearbyRegions = 1
        policy.stepDownAt = []  // the ladder alone (stepping down under pressure: below)
        let allocator = Allocator(policy: policy)
        // Room for exactly one 1080p viewer in each place on the ladder.
        let own = allocator.addEdge(network: .mobile, region: Self.hubei, capacity: 3)
        let nearby = allocator.addEdge(network: .mobile, region: Self.jiangxi, capacity: 3)
        let lesson = UUID()
        func next() throws -> Allocator.Placement { try placement(allocator.allocate(lesson: lesson, network: .mobile, region: Self.hubei, rendition: 0)) }

        let first = try next()
        #expect(first.edge == own && first.rendition == 0 && !first.crossRegion && !first.crossNetwork)
        let second = try next()
        #expect(second.edge == nearby && second.rendition == 0 && second.crossRegion)
        // Both full at 3 Mbit/s: a lower rendition where it fits, own region first.
        allocator.release(lesson: lesson, edge: own, bitrate: 3)
        _ = allocator.allocate(lesson: UUID(), network: .mobile, region: Self.hubei, rendition: 1)  // 1.5 on own, 1.5 left
        let third = try next()
        #expect(third.edge == own && third.rendition == 1 && third.downgraded)
        // Own network full even at 480p: another network, best rendition first.
        let other = allocator.addEdge(network: .telecom, region: Self.hubei, capacity: 3.1)
        let fourth = try next()
        #expect(fourth.edge == other && fourth.rendition == 0 && fourth.crossNetwork && !fourth.downgraded)
        // Nothing but 0.1 Mbit/s left anywhere: audio only.
        let fifth = try next()
        #expect(fifth.edge == other && Rendition.standard[fifth.rendition].name == "audio")
        // And then a refusal with a time to retry.
        guard case .refused(let refusal) = allocator.allocate(lesson: lesson, network: .mobile, region: Self.hubei, rendition: 0) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(refusal.reason == .noCapacity && refusal.retryAfterSeconds == policy.retryAfterSeconds)
    }

    /// A filling pool stops handing out the best renditions, so the last viewers of a full
    /// morning get 480p rather than a refusal.
    @Test func aFillingPoolStepsNewViewersDown() throws {
        let allocator = Allocator()
        allocator.addEdge(network: .telecom, region: Self.hubei, capacity: 100)
        var renditions: [String] = []
        while case .placed(let placement) = allocator.allocate(lesson: UUID(), network: .telecom, region: Self.hubei, rendition: 0) {
            renditions.append(Rendition.standard[placement.rendition].name)
            if renditions.count > 1000 { break }
        }
        // 1080p to 80 Mbit/s, 720p to 90, then 480p to the end, then audio in what is left.
        #expect(renditions.prefix(27).allSatisfy { $0 == "1080p" })
        #expect(renditions.firstIndex(of: "720p") == 27)
        #expect(renditions.filter { $0 == "720p" }.count == 6)
        #expect(renditions.filter { $0 == "480p" }.count == 12)
        #expect(renditions.last == "audio")
        #expect(allocator.accounted(on: 0) <= 100)
    }

    @Test func noEdgeIsEverPromisedMoreThanItsCapacity() {
        let allocator = Allocator()
        let capacities = [10.0, 7.5, 3.2, 20, 1]
        for capacity in capacities { allocator.addEdge(network: .unicom, region: Self.hubei, capacity: capacity) }
        var random = SystemRandomNumberGenerator()
        var live: [(UUID, Allocator.EdgeIndex, Double)] = []
        let lessons = (0..<5).map { _ in UUID() }
        for _ in 0..<20_000 {
            if !live.isEmpty && Bool.random(using: &random) {
                let (lesson, edge, bitrate) = live.remove(at: Int.random(in: 0..<live.count, using: &random))
                allocator.release(lesson: lesson, edge: edge, bitrate: bitrate)
            } else {
                let lesson = lessons.randomElement(using: &random)!
                if case .placed(let placement) = allocator.allocate(lesson: lesson, network: .unicom, region: Self.hubei, rendition: Int.random(in: 0...3, using: &random)) {
                    live.append((lesson, placement.edge, placement.bitrate))
                }
            }
            for edge in 0..<allocator.edgeCount {
                let index = Allocator.EdgeIndex(edge)
                #expect(allocator.accounted(on: index) <= allocator.capacity(of: index) + 1e-9)
            }
        }
    }

    /// A lesson stays on the edge it started on while that edge runs at most 10% above its
    /// pool's mean; many lessons together keep every edge within 1.10× the mean.
    @Test func lessonsKeepTheirEdgeButNoEdgeRunsHotterThanTenPercentAboveItsPool() throws {
        let allocator = Allocator()
        for _ in 0..<20 { allocator.addEdge(network: .telecom, region: Self.hubei, capacity: 1000) }
        let lone = UUID()
        var edges: Set<Allocator.EdgeIndex> = []
        for _ in 0..<100 { edges.insert(try placement(allocator.allocate(lesson: lone, network: .telecom, region: Self.hubei, rendition: 1)).edge) }
        #expect(allocator.fanOut(of: lone) == edges.count)
        let lessons = (0..<300).map { _ in UUID() }
        for index in 0..<10_000 {
            _ = try placement(allocator.allocate(lesson: lessons[index % lessons.count], network: .telecom, region: Self.hubei, rendition: 1))
        }
        let pool = try #require(allocator.poolFigures().first { $0.network == .telecom && $0.region == Self.hubei })
        #expect(pool.mean > 0.5)
        #expect(pool.hottest / pool.mean <= 1.10 + 0.002, "hottest \(pool.hottest) vs mean \(pool.mean)")
        // Fan-out stays small: a lesson of 33 viewers sits on a handful of edges, not all 20.
        #expect(allocator.fanOut(of: lessons[0]) <= 6)
    }

    @Test func anEdgeThatStopsAcceptingTakesNoNewViewersAndComesBack() throws {
        let allocator = Allocator()
        let a = allocator.addEdge(network: .cernet, region: Self.tibet, capacity: 100)
        let b = allocator.addEdge(network: .cernet, region: Self.tibet, capacity: 100)
        allocator.setAccepting(a, false)
        for _ in 0..<10 { #expect(try placement(allocator.allocate(lesson: UUID(), network: .cernet, region: Self.tibet)).edge == b) }
        allocator.setAccepting(a, true)
        #expect(try placement(allocator.allocate(lesson: UUID(), network: .cernet, region: Self.tibet)).edge == a, "the idle edge is the least utilised")
    }
}

@Suite struct AddressSharesTests {
    @Test func sharesAreTheOverlapOfOperatorsAndProvincesInAddresses() {
        let shares = AddressShares(
            operators: [.telecom: "10.0.0.0/8\n", .mobile: "11.0.0.0/8\n2001:db8::/32\n", .unicom: "not a prefix\n10.0.0.1/8\n"],
            provinces: ["420000": "10.0.0.0/9\n11.0.0.0/10\n11.0.0.0/11\n"]
        )
        let hubei = Allocator.regionIndex("420000")!
        let telecom = Network.allCases.firstIndex(of: .telecom)!, mobile = Network.allCases.firstIndex(of: .mobile)!
        #expect(shares.addresses[hubei][telecom] == 1 << 23)
        #expect(shares.addresses[hubei][mobile] == 1 << 22, "overlapping province prefixes count once")
        #expect(abs(shares.shares[hubei][telecom] - 2.0 / 3) < 1e-9)
        // A province with no list gets the national shares.
        let beijing = Allocator.regionIndex("110000")!
        #expect(abs(shares.shares[beijing][telecom] - 0.5) < 1e-9)
    }

    @Test func prefixesAreParsedStrictly() {
        #expect(IPv4Prefix("1.12.16.0/20")?.range.count == 4096)
        for bad in ["1.12.16.1/20", "1.2.3/8", "1.2.3.4/33", "256.0.0.0/8", "1.2.3.4", "a.b.c.d/8"] { #expect(IPv4Prefix(bad) == nil, "\(bad)") }
    }
}

@Suite struct NationalMorningTests {
    /// A small morning (the defaults are for `simulate` in a release build): nothing refused
    /// while capacity allows, no edge past capacity, pools balanced, viewers kept on their own
    /// network and region.
    @Test func aSmallMorningKeepsEveryEdgeWithinCapacityAndViewersAtHome() {
        var setup = NationalMorning.Setup()
        setup.viewers = 300_000
        setup.edges = 400
        setup.lessons = 2_000
        // Room for everyone at the best rendition, with some left over.
        setup.edgeCapacity = 300_000 * 3.0 * 1.4 / 400
        let shares = AddressShares(operators: [.telecom: "10.0.0.0/8", .unicom: "11.0.0.0/9", .mobile: "12.0.0.0/10", .cernet: "13.0.0.0/12"], provinces: [:])
        let (outcome, _) = NationalMorning(setup: setup, shares: shares).run()
        #expect(outcome.decisions == 300_000)
        #expect(outcome.refused == 0)
        #expect(outcome.worstUtilisation <= 1.0)
        #expect(Double(outcome.crossNetwork) / Double(outcome.decisions) <= 0.001)
        #expect(Double(outcome.crossRegion) / Double(outcome.decisions) <= 0.005)
        #expect(outcome.poolsHalfFull == 0 || outcome.worstPoolSpread <= 1.10 + 0.01)
    }

    /// Short of capacity, viewers are stepped down before anyone is refused or overloaded.
    @Test func aMorningShortOfCapacityDowngradesBeforeRefusing() {
        var setup = NationalMorning.Setup()
        setup.viewers = 200_000
        setup.edges = 300
        setup.lessons = 1_000
        setup.edgeCapacity = 200_000 * 1.2 / 300  // less than everyone at 720p
        let shares = AddressShares(operators: [.telecom: "10.0.0.0/8", .mobile: "12.0.0.0/9"], provinces: [:])
        let (outcome, _) = NationalMorning(setup: setup, shares: shares).run()
        #expect(outcome.downgraded > 0)
        #expect(outcome.worstUtilisation <= 1.0)
        #expect(outcome.placed + outcome.refused == outcome.decisions)
    }
}

extension NationalMorningTests {
    /// The comparison `simulate --compare-scalelite` prints: on the same morning, lessons placed
    /// whole by load score ignore networks and capacity.
    @Test func scalelitesPlacementOnTheSameMorningOverloadsAndCrossesNetworks() {
        var setup = NationalMorning.Setup()
        setup.viewers = 200_000
        setup.edges = 300
        setup.lessons = 400
        setup.edgeCapacity = 200_000 * 2.1 * 1.2 / 300
        let shares = AddressShares(operators: [.telecom: "10.0.0.0/8", .unicom: "11.0.0.0/9", .mobile: "12.0.0.0/10"], provinces: [:])
        let morning = NationalMorning(setup: setup, shares: shares)
        let model = ScaleliteModel(morning: morning).run()
        let (ours, _) = morning.run()
        #expect(model.viewers == 200_000)
        #expect(model.onOverloadedEdges > 0 && model.worstUtilisation > 1)
        #expect(Double(model.crossNetwork) / 200_000 > 0.3)
        #expect(ours.worstUtilisation <= 1 && ours.refused == 0 && ours.crossNetwork == 0)
    }
}
