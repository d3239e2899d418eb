import Foundation
import Reference

/// A model of Scalelite's placement (BigBlueButton's balancer) on the same morning, for
/// comparison: a lesson goes whole to the server with the lowest load score, the score being the
/// load seen at the last 60-second poll plus one per join since; networks, regions and capacity
/// play no part, and there is no rendition ladder. What it leaves overloaded and sends across
/// networks is what the allocator has to beat.
public struct ScaleliteModel: Sendable {
    public struct Outcome: Sendable {
        public var viewers = 0
        /// Viewers on an edge carrying more than its capacity at the end of the morning.
        public var onOverloadedEdges = 0
        public var crossNetwork = 0
        public var crossRegion = 0
        public var worstUtilisation = 0.0
    }

    let morning: NationalMorning

    public init(morning: NationalMorning) {
        self.morning = morning
    }

    public func run() -> Outcome {
        let fleet = morning.fleet()
        let edges = (0..<fleet.edgeCount).map { Allocator.EdgeIndex($0) }
        let networks = edges.map { fleet.network(of: $0) }
        let regions = edges.map { fleet.region(of: $0) }
        let capacity = edges.map { fleet.capacity(of: $0) }
        var load = [Double](repeating: 0, count: edges.count)
        var viewers = [Int](repeating: 0, count: edges.count)
        var scores = ScoreHeap(count: edges.count)
        var server: [UUID: Int] = [:]
        var outcome = Outcome()
        let renditions = morning.setup.policy.renditions
        var minute = -1
        morning.forEachViewer { viewer, viewerMinute in
            if viewerMinute != minute {
                // The poll: every server's score becomes the users it has now.
                minute = viewerMinute
                for edge in edges.indices { scores.set(edge, viewers[edge]) }
            }
            let edge: Int
            if let placed = server[viewer.lesson] {
                edge = placed
            } else {
                edge = scores.lowest
                server[viewer.lesson] = edge
            }
            scores.set(edge, scores.score(of: edge) + 1)
            viewers[edge] += 1
            load[edge] += renditions[viewer.rendition].bitrate
            outcome.viewers += 1
            if networks[edge] != viewer.network { outcome.crossNetwork += 1 }
            if regions[edge] != viewer.region { outcome.crossRegion += 1 }
        }
        for edge in edges.indices {
            let utilisation = load[edge] / capacity[edge]
            outcome.worstUtilisation = max(outcome.worstUtilisation, utilisation)
            if utilisation > 1 { outcome.onOverloadedEdges += viewers[edge] }
        }
        return outcome
    }
}

/// Integer scores with the lowest on top and any score changeable in O(log n).
struct ScoreHeap {
    private var heap: [Int]
    private var slot: [Int]
    private var scores: [Int]

    init(count: Int) {
        heap = Array(0..<count)
        slot = Array(0..<count)
        scores = Array(repeating: 0, count: count)
    }

    var lowest: Int { heap[0] }
    func score(of item: Int) -> Int { scores[item] }

    mutating func set(_ item: Int, _ score: Int) {
        let old = scores[item]
        scores[item] = score
        if score < old { up(slot[item]) } else if score > old { down(slot[item]) }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        slot[heap[a]] = a
        slot[heap[b]] = b
    }

    private mutating func up(_ start: Int) {
        var index = start
        while index > 0, scores[heap[index]] < scores[heap[(index - 1) / 2]] {
            swap(index, (index - 1) / 2)
            index = (index - 1) / 2
        }
    }

    private mutating func down(_ start: Int) {
        var index = start
        while true {
            let left = 2 * index + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, scores[heap[left + 1]] < scores[heap[left]] { smallest = left + 1 }
            guard scores[heap[smallest]] < scores[heap[index]] else { return }
            swap(index, smallest)
            index = smallest
        }
    }
}
