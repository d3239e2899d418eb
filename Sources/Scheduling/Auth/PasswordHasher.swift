import Foundation
import HummingbirdBcrypt
import NIOPosix
import ServiceKit
import Synchronization

/// bcrypt on a bounded pool of its own threads, never on the event loops. When more checks wait
/// than the queue allows, callers get 503 + Retry-After at once instead of a stalled server.
public final class PasswordHasher: Sendable {
    public let cost: Int
    let workers: Int
    let queueLimit: Int
    let pool: NIOThreadPool
    /// Checks admitted and not yet finished (running + waiting).
    let inFlight = Atomic<Int>(0)
    /// Seconds one hash takes, smoothed, for Retry-After.
    let secondsPerHash: Mutex<Double>
    /// A hash of a random password, checked when the username is unknown so that answer takes
    /// as long as a wrong password does.
    let decoyHash: String

    public init(cost: Int, workers: Int, queueLimit: Int) {
        precondition((4...31).contains(cost), "bcrypt cost must be in 4...31")
        self.cost = cost
        self.workers = max(1, workers)
        self.queueLimit = queueLimit
        self.pool = NIOThreadPool(numberOfThreads: self.workers)
        pool.start()
        let started = ContinuousClock.now
        self.decoyHash = Bcrypt.hash(UUID().uuidString, cost: UInt8(cost))
        self.secondsPerHash = Mutex((ContinuousClock.now - started).inSeconds)
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Checks waiting or running now.
    public var queueDepth: Int { inFlight.load(ordering: .relaxed) }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await run { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no hash, so unknown
    /// users and users without a password cost the same time as a wrong password.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await run { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let admitted = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        if admitted > workers + queueLimit {
            let perHash = secondsPerHash.withLock { $0 }
            let wait = Double(admitted - workers) * perHash / Double(workers)
            throw Problem.retryLater(.serviceUnavailable, after: wait, detail: "Too many sign-ins are being checked right now; try again shortly.")
        }
        let (result, seconds) = try await pool.runIfActive {
            let started = ContinuousClock.now
            let result = work()
            return (result, (ContinuousClock.now - started).inSeconds)
        }
        secondsPerHash.withLock { $0 = $0 * 0.9 + min(seconds, 10) * 0.1 }
        return result
    }
}
