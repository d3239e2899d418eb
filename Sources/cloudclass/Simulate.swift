import Allocation
import Bandwidth
import ArgumentParser
import Foundation
import Reference

/// `cloudclass simulate`: the allocation core over a national morning, with the real operators'
/// and provinces' prefix lists deciding how each province's viewers divide among the networks.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bandwidth allocation core over a simulated national morning and print its figures (use a release build)."
    )

    @Option(help: "Viewers joining.") var viewers = 50_000_000
    @Option(help: "Edges in the fleet.") var edges = 7_000
    @Option(help: "Each edge's capacity in Mbit/s.") var edgeCapacity = 13_000.0
    @Option(help: "Lessons the viewers join.") var lessons = 20_000
    @Option(help: "Minutes within which the lessons start.") var minutes = 10
    @Option(help: "Share of players asking for the best rendition (the rest ask for the second).") var bestShare = 0.4
    @Option(help: "Seed of the random choices (the same seed, the same morning).") var seed: UInt64 = 2020_02_17
    @Option(help: "The folder holding china-operator-ip/ and china-province-ip/.") var data = "Deploy/data"
    @Flag(help: "Also run a model of Scalelite's placement on the same morning, for comparison.") var compareScalelite = false

    func validate() throws {
        guard viewers > 0, edges > 0, edgeCapacity > 0, lessons > 0, minutes > 0, (0...1).contains(bestShare) else {
            throw ValidationError("viewers, edges, edge capacity, lessons and minutes must be positive; best-share from 0 to 1")
        }
    }

    func run() throws {
        let started = ContinuousClock.now
        let shares = try Self.addressShares(data: data)
        var setup = NationalMorning.Setup()
        setup.viewers = viewers
        setup.edges = edges
        setup.edgeCapacity = edgeCapacity
        setup.lessons = lessons
        setup.startWindowMinutes = minutes
        setup.bestRenditionShare = bestShare
        setup.seed = seed
        let morning = NationalMorning(setup: setup, shares: shares)
        print("simulate: \(viewers) viewers, \(edges) edges of \(Int(edgeCapacity)) Mbit/s, \(lessons) lessons starting within \(minutes) min")
        var lastShown = ContinuousClock.now
        let (outcome, _) = morning.run { done in
            guard ContinuousClock.now - lastShown > .seconds(1) else { return }
            lastShown = ContinuousClock.now
            print("simulate: \(done) / \(viewers) decided (\(Int(Double(done) / Double(viewers) * 100))%)")
        }
        let wall = ContinuousClock.now - started
        func percent(_ count: Int) -> String { String(format: "%.3f%%", Double(count) / Double(max(outcome.decisions, 1)) * 100) }
        print("""
            decisions               \(outcome.decisions) in \(String(format: "%.2f", outcome.decisionSeconds)) s of allocation: \(Int(outcome.decisionsPerSecond)) decisions/s (\(String(format: "%.0f", 1e9 / max(outcome.decisionsPerSecond, 1))) ns each)
            placed / refused        \(outcome.placed) / \(outcome.refused) (\(percent(outcome.refused)) refused)
            downgraded              \(outcome.downgraded) (\(percent(outcome.downgraded)))
            cross-network           \(outcome.crossNetwork) (\(percent(outcome.crossNetwork)))
            cross-region            \(outcome.crossRegion) (\(percent(outcome.crossRegion)))
            utilisation             worst edge \(String(format: "%.1f%%", outcome.worstUtilisation * 100)), mean \(String(format: "%.1f%%", outcome.meanUtilisation * 100))
            pool max/mean           \(String(format: "%.3f", outcome.worstPoolSpread)) worst over \(outcome.poolsHalfFull) pools at least half full
            wall                    \(String(format: "%.1f", Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18)) s, peak memory \(Self.peakMemoryMiB()) MiB
            """)
        if compareScalelite {
            let model = ScaleliteModel(morning: morning).run()
            func share(_ count: Int) -> String { String(format: "%.1f%%", Double(count) / Double(max(model.viewers, 1)) * 100) }
            print("""
                Scalelite's placement on the same morning (lowest load score, +1 per join between 60 s polls, a lesson on one server):
                on overloaded edges     \(model.onOverloadedEdges) (\(share(model.onOverloadedEdges)))
                cross-network           \(model.crossNetwork) (\(share(model.crossNetwork)))
                cross-region            \(model.crossRegion) (\(share(model.crossRegion)))
                worst edge              \(String(format: "%.0f%%", model.worstUtilisation * 100))
                """)
        }
    }

    /// The networks' shares of each province's addresses, from the prefix lists (IPv4: the
    /// province lists have no IPv6).
    static func addressShares(data: String) throws -> AddressShares {
        let lists = try PrefixLists(folder: data, ipv6: false)
        return AddressShares(operators: lists.operators.mapValues { $0.joined(separator: "\n") }, provinces: lists.provinces)
    }

    static func peakMemoryMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }
}
