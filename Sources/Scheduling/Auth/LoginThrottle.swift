import Foundation
import Synchronization

/// Slows down password guessing per username (or per client address) with growing delays rather than a hard lock, so
/// nobody can lock a teacher out at 07:59 by typing their name with wrong passwords: after a few
/// free failures each further failure makes the next attempt wait longer (doubling, capped), and
/// attempts made while waiting are refused without counting. Memory stays bounded whatever
/// usernames are tried: the oldest entries are forgotten first.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures allowed before any delay.
        public var freeFailures = 5
        public var firstDelay: Double = 1
        public var maximumDelay: Double = 60
        /// A username with no failure for this long starts afresh.
        public var forgetAfter: Double = 15 * 60
        public var maximumEntries = 100_000
        /// Failures forgiven per second as time passes (a leaky bucket); 0 = only `forgetAfter`.
        public var forgivenPerSecond: Double = 0
        public init() {}

        /// Per client address: a school of thousands behind one NAT address may fail 300
        /// sign-ins in a burst and one a second for ever before any of them waits.
        public static var perAddress: Policy {
            var policy = Policy()
            policy.freeFailures = 300
            policy.forgivenPerSecond = 1
            policy.maximumDelay = 30
            return policy
        }
    }

    struct Entry {
        var failures: Double
        var lastFailure: Double
        var blockedUntil: Double
    }

    let policy: Policy
    let now: @Sendable () -> Double
    private let entries = Mutex<[String: Entry]>([:])

    public init(policy: Policy = Policy(), now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.policy = policy
        self.now = now
    }

    /// Seconds the caller must still wait before trying `username` again, or nil.
    public func waitBeforeAttempt(_ username: String) -> Double? {
        let now = self.now()
        return entries.withLock { entries in
            guard let entry = entries[username], entry.blockedUntil > now else { return nil }
            return entry.blockedUntil - now
        }
    }

    public func recordFailure(_ username: String) {
        let now = self.now()
        entries.withLock { entries in
            var entry = entries[username] ?? Entry(failures: 0, lastFailure: now, blockedUntil: 0)
            if now - entry.lastFailure > policy.forgetAfter { entry.failures = 0 }
            entry.failures = max(0, entry.failures - (now - entry.lastFailure) * policy.forgivenPerSecond) + 1
            entry.lastFailure = now
            let excess = entry.failures - Double(policy.freeFailures)
            if excess > 0 {
                let delay = min(policy.maximumDelay, policy.firstDelay * pow(2, min(excess.rounded(.up) - 1, 30)))
                entry.blockedUntil = now + delay
            }
            entries[username] = entry
            if entries.count > policy.maximumEntries { evict(&entries, now: now) }
        }
    }

    public func recordSuccess(_ username: String) {
        _ = entries.withLock { $0.removeValue(forKey: username) }
    }

    public var trackedUsernames: Int { entries.withLock { $0.count } }

    /// Drops forgotten entries, then the least recently failed until a tenth of the room is free.
    private func evict(_ entries: inout [String: Entry], now: Double) {
        entries = entries.filter { now - $0.value.lastFailure <= policy.forgetAfter }
        let target = policy.maximumEntries - policy.maximumEntries / 10
        guard entries.count > target else { return }
        let oldest = entries.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(entries.count - target)
        for (key, _) in oldest { entries.removeValue(forKey: key) }
    }
}
