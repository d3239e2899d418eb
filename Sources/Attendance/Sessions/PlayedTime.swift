import Foundation

/// What one viewing session played of its lesson, second by second: per minute of the lesson a
/// 60-bit mask in one integer (a 45-minute lesson is 45 integers). Beats are added as a union,
/// so seconds sent twice (a beat resent after a lost answer, two tabs, a reconnect) count once.
/// A minute is watched when at least `threshold` of its seconds were played.
public struct PlayedTime: Sendable, Equatable {
    /// Minute `i`'s seconds, bit `s` for second `60 i + s` of the lesson.
    public private(set) var minutes: [UInt64]

    public init(lessonSeconds: Int) {
        minutes = Array(repeating: 0, count: max(0, (lessonSeconds + 59) / 60))
    }

    public init(minutes: [UInt64]) {
        self.minutes = minutes
    }

    /// Seconds `[range.lowerBound, range.upperBound)` of the lesson, clipped to its length.
    public mutating func add(_ range: Range<Int>) {
        let lower = max(range.lowerBound, 0), upper = min(range.upperBound, minutes.count * 60)
        guard lower < upper else { return }
        var second = lower
        while second < upper {
            let minute = second / 60, first = second % 60
            let last = min(upper - minute * 60, 60)
            let width = last - first
            let mask = width == 64 ? UInt64.max : ((UInt64(1) << UInt64(width)) - 1) << UInt64(first)
            minutes[minute] |= mask
            second = minute * 60 + last
        }
    }

    public mutating func formUnion(_ other: PlayedTime) {
        if other.minutes.count > minutes.count { minutes += Array(repeating: 0, count: other.minutes.count - minutes.count) }
        for (index, mask) in other.minutes.enumerated() { minutes[index] |= mask }
    }

    public var secondsPlayed: Int { minutes.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The minutes with at least `threshold` seconds played.
    public func watchedMinutes(threshold: Int = 30) -> Int {
        minutes.count { $0.nonzeroBitCount >= threshold }
    }

    /// Only the minutes `other` adds to this one (what a batch must write).
    public func added(to other: PlayedTime) -> [(minute: Int, mask: UInt64)] {
        minutes.enumerated().compactMap { index, mask in
            let before = index < other.minutes.count ? other.minutes[index] : 0
            return mask & ~before == 0 ? nil : (index, mask)
        }
    }
}
