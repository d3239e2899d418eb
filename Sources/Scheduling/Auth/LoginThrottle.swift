import Foundation
import Synchronization

/// Slows down password guessing per key (a username and address, a username, an address) with
/// growing delays rather than a hard lock: after a few free failures each further failure makes
/// the next attempt wait longer (doubling, capped), and attempts made while waiting are refused
/// without counting. An attempt counts when it is admitted, before the password is checked, so
/// parallel guesses cannot all slip past the check; a success takes it back. Memory stays
/// bounded whatever keys are tried: the oldest entries are forgotten first.
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

        /// Per username from anywhere: the ceiling against guessing spread over many addresses,
        /// high enough that one wrong try a minute from elsewhere never slows the owner down.
        public static var perUsername: Policy {
            var policy = Policy()
            policy.freeFailures = 100
            policy.forgivenPerSecond = 0.1
            policy.maximumDelay = 60
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

    /// Seconds the caller must still wait before trying `key` again, or nil.
    public func waitBeforeAttempt(_ key: String) -> Double? {
        let now = self.now()
        return entries.withLock { entries in
            guard let entry = entries[key], entry.blockedUntil > now else { return nil }
            return entry.blockedUntil - now
        }
    }

    /// Seconds to wait, or nil after counting this attempt as a failure (checked and counted
    /// under one lock): `refund` or `forget` it when it succeeds.
    public func admit(_ key: String) -> Double? {
        let now = self.now()
        return entries.withLock { entries in
            if let entry = entries[key], entry.blockedUntil > now { return entry.blockedUntil - now }
            count(key, now: now, in: &entries)
            return nil
        }
    }

    /// Counts a failure without asking whether the caller may try (a test's shortcut).
    public func recordFailure(_ key: String) {
        let now = self.now()
        entries.withLock { count(key, now: now, in: &$0) }
    }

    /// An admitted attempt succeeded where the budget is shared (an address, a username from
    /// anywhere): it no longer counts, and the delay it caused is lifted if it was the last straw.
    public func refund(_ key: String) {
        entries.withLock { entries in
            guard var entry = entries[key] else { return }
            entry.failures = max(0, entry.failures - 1)
            if entry.failures <= Double(policy.freeFailures) { entry.blockedUntil = 0 }
            entries[key] = entry
        }
    }

    /// An admitted attempt succeeded where the key is one guesser's: it starts afresh.
    public func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    private func count(_ key: String, now: Double, in entries: inout [String: Entry]) {
        var entry = entries[key] ?? Entry(failures: 0, lastFailure: now, blockedUntil: 0)
        if now - entry.lastFailure > policy.forgetAfter { entry.failures = 0 }
        entry.failures = max(0, entry.failures - (now - entry.lastFailure) * policy.forgivenPerSecond) + 1
        entry.lastFailure = now
        let excess = entry.failures - Double(policy.freeFailures)
        if excess > 0 {
            let delay = min(policy.maximumDelay, policy.firstDelay * pow(2, min(excess.rounded(.up) - 1, 30)))
            entry.blockedUntil = now + delay
        }
        entries[key] = entry
        if entries.count > policy.maximumEntries { evict(&entries, now: now) }
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

/// The three slow-downs a sign-in passes, so a guesser is slowed without locking the owner out:
/// per username *and* address (the guesser's own budget, the tightest), per username from
/// anywhere (a high ceiling against guessing spread over many addresses), and per address (a
/// school behind one NAT address has a large, refilling budget).
public struct SignInThrottle: Sendable {
    public let perUsernameAndAddress: LoginThrottle
    public let perUsername: LoginThrottle
    public let perAddress: LoginThrottle

    public init(perUsernameAndAddress: LoginThrottle.Policy, perUsername: LoginThrottle.Policy, perAddress: LoginThrottle.Policy) {
        self.perUsernameAndAddress = LoginThrottle(policy: perUsernameAndAddress)
        self.perUsername = LoginThrottle(policy: perUsername)
        self.perAddress = LoginThrottle(policy: perAddress)
    }

    /// An attempt let through: counted as a failure everywhere until it succeeds.
    public struct Attempt: Sendable {
        let username: String?
        let address: String
    }

    public enum Refusal: Error {
        case address(wait: Double)
        case username(wait: Double)
    }

    /// Counts a sign-in of `username` from `address` before its secret is checked, or says how
    /// long to wait. Usernames hold no spaces (`UserStore.username`), so the pair key is unambiguous.
    public func admit(username: String?, address: String) throws(Refusal) -> Attempt {
        if let wait = perAddress.admit(address) { throw .address(wait: wait) }
        guard let username else { return Attempt(username: nil, address: address) }
        let pair = username + " " + address
        if let wait = perUsernameAndAddress.admit(pair) {
            perAddress.refund(address)
            throw .username(wait: wait)
        }
        if let wait = perUsername.admit(username) {
            perAddress.refund(address)
            perUsernameAndAddress.refund(pair)
            throw .username(wait: wait)
        }
        return Attempt(username: username, address: address)
    }

    /// The attempt was never checked (the server failed): it counts nowhere.
    public func abandoned(_ attempt: Attempt) {
        perAddress.refund(attempt.address)
        guard let username = attempt.username else { return }
        perUsernameAndAddress.refund(username + " " + attempt.address)
        perUsername.refund(username)
    }

    public func succeeded(_ attempt: Attempt) {
        perAddress.refund(attempt.address)
        guard let username = attempt.username else { return }
        perUsernameAndAddress.forget(username + " " + attempt.address)
        perUsername.refund(username)
    }
}
