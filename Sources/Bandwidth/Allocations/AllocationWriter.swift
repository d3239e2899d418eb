import Foundation
import Logging
import ServiceLifecycle

/// Writes the journal to the store: whatever is pending, as one batch, as soon as there is
/// any (so a batch is whatever arrived during the last commit: group commit without a timer).
/// A failed write is retried, ahead of newer work, backing off to 2 s; waiting allocations
/// give up after their timeout. On shutdown it makes one last attempt.
struct AllocationWriter: Service {
    let journal: AllocationJournal
    let store: AllocationStore
    let logger: Logger

    static let batchLimit = 5_000

    func run() async throws {
        // Waiters' timeouts are checked at least this often, even when nothing is written.
        let ticker = Task { [journal] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                journal.nudge()
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown {
            var backoff = Duration.milliseconds(50)
            for await _ in journal.wakes {
                journal.expireWaiters()
                while let batch = journal.takeBatch(upTo: Self.batchLimit) {
                    do {
                        try await store.apply(batch, logger: logger)
                        journal.markCommitted(batch)
                        backoff = .milliseconds(50)
                    } catch {
                        journal.putBack(batch)
                        logger.warning("cannot write allocations yet", metadata: ["error": "\(error)", "pending": "\(journal.pendingCount)"])
                        try? await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, .seconds(2))
                        break
                    }
                }
            }
        }
        while let batch = journal.takeBatch(upTo: Self.batchLimit) {
            do {
                try await store.apply(batch, logger: logger)
                journal.markCommitted(batch)
            } catch {
                logger.error("allocations not written at shutdown: their joins were not answered, and releases not written expire after the restart", metadata: ["error": "\(error)", "operations": "\(batch.operations.count)"])
                break
            }
        }
        journal.expireWaiters(now: .now + .seconds(3600))
    }
}

/// Releases allocations nobody renewed in time, once a second.
struct LeaseExpiry: Service {
    let fleet: Fleet
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let expired = fleet.expireLeases(now: Date())
                if expired > 0 { logger.info("allocations expired", metadata: ["count": "\(expired)"]) }
            }
        }
    }
}
