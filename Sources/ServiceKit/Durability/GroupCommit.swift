import Logging
import ServiceLifecycle
import Synchronization

/// Group commit: request handlers record what must reach the store and wait; one writer takes
/// everything pending as one batch (one transaction) and wakes the waiters once it committed.
/// So an acknowledged write survives a crash, and many requests share one commit. Bandwidth's
/// allocations and attendance's heartbeats go through it.
public final class GroupCommitJournal<Entry: Sendable>: Sendable {
    public struct Batch: Sendable {
        public var entries: [(sequence: UInt64, entry: Entry)]
        public var through: UInt64 { entries.last?.sequence ?? 0 }
    }

    private struct Waiter {
        var sequence: UInt64
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var pending: [(sequence: UInt64, entry: Entry)] = []
        var lastRecorded: UInt64 = 0
        var committed: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// Yields when there is something to write.
    let wakes: AsyncStream<Void>
    /// The most entries held unwritten before `isFull` says so (the store is not keeping up, or
    /// is down: a caller then refuses new work, so memory does not grow without bound).
    public let pendingLimit: Int

    public init(pendingLimit: Int = .max) {
        self.pendingLimit = pendingLimit
        (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Records `entry`; returns its sequence number, to wait for with `committed`.
    @discardableResult
    public func record(_ entry: Entry) -> UInt64 {
        let sequence = state.withLock { state in
            state.lastRecorded += 1
            state.pending.append((state.lastRecorded, entry))
            return state.lastRecorded
        }
        wakeContinuation.yield()
        return sequence
    }

    public var isFull: Bool { state.withLock { $0.pending.count >= pendingLimit } }
    public var lastRecorded: UInt64 { state.withLock { $0.lastRecorded } }
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Waits until everything up to `sequence` has committed; false when `timeout` passed first
    /// (the entry may still be written later).
    public func committed(_ sequence: UInt64, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        return await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.committed >= sequence { return true }
                state.waiters.append(Waiter(sequence: sequence, deadline: deadline, continuation: continuation))
                return false
            }
            if done { continuation.resume(returning: true) }
        }
    }

    func takeBatch(upTo count: Int) -> Batch? {
        state.withLock { state in
            guard !state.pending.isEmpty else { return nil }
            let taken = Array(state.pending.prefix(count))
            state.pending.removeFirst(taken.count)
            return Batch(entries: taken)
        }
    }

    /// A batch that could not be written goes back ahead of everything recorded since.
    func putBack(_ batch: Batch) {
        state.withLock { $0.pending.insert(contentsOf: batch.entries, at: 0) }
    }

    func markCommitted(_ batch: Batch) {
        let ready = state.withLock { state in
            state.committed = max(state.committed, batch.through)
            let committed = state.committed
            let ready = state.waiters.filter { $0.sequence <= committed }
            state.waiters.removeAll { $0.sequence <= committed }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Answers every waiter whose time is up.
    func expireWaiters(now: ContinuousClock.Instant = .now) {
        let late = state.withLock { state in
            let late = state.waiters.filter { $0.deadline <= now }
            state.waiters.removeAll { $0.deadline <= now }
            return late
        }
        for waiter in late { waiter.continuation.resume(returning: false) }
    }
}

/// Writes a journal to the store: whatever is pending, as one batch, as soon as there is any
/// (a batch is whatever arrived during the last commit: group commit without a timer). A failed
/// write is retried ahead of newer work, backing off to 2 s; waiters give up after their
/// timeout. On shutdown it makes one last attempt.
public struct GroupCommitWriter<Entry: Sendable>: Service {
    public let journal: GroupCommitJournal<Entry>
    /// What is written, for the log ("allocations", "heartbeats").
    public let what: String
    public let batchLimit: Int
    /// Done once before the first write (retried until it succeeds), e.g. making the tables'
    /// partitions for the months around now.
    public let prepare: @Sendable () async throws -> Void
    public let write: @Sendable ([Entry]) async throws -> Void
    public let logger: Logger

    public init(
        journal: GroupCommitJournal<Entry>, what: String, batchLimit: Int, logger: Logger,
        prepare: @escaping @Sendable () async throws -> Void = {}, write: @escaping @Sendable ([Entry]) async throws -> Void
    ) {
        self.journal = journal
        self.what = what
        self.batchLimit = batchLimit
        self.prepare = prepare
        self.write = write
        self.logger = logger
    }

    public func run() async throws {
        // Waiters' timeouts are kept this closely, apart from the writer: a write can itself
        // wait seconds (for a connection, for a server that is restarting).
        let ticker = Task { [journal] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                journal.expireWaiters()
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown {
            var backoff = Duration.milliseconds(50)
            while !Task.isCancelled {
                do {
                    try await prepare()
                    break
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("cannot prepare to write \(what) yet", metadata: ["error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(2))
                }
            }
            for await _ in journal.wakes {
                while let batch = journal.takeBatch(upTo: batchLimit) {
                    do {
                        try await write(batch.entries.map(\.entry))
                        journal.markCommitted(batch)
                        backoff = .milliseconds(50)
                    } catch {
                        journal.putBack(batch)
                        logger.warning("cannot write \(what) yet", metadata: ["error": "\(String(reflecting: error))", "pending": "\(journal.pendingCount)"])
                        try? await Task.sleep(for: backoff)
                        backoff = min(backoff * 2, .seconds(2))
                        break
                    }
                }
            }
        }
        while let batch = journal.takeBatch(upTo: batchLimit) {
            do {
                try await write(batch.entries.map(\.entry))
                journal.markCommitted(batch)
            } catch {
                logger.error("\(what) not written at shutdown: their requests were not answered", metadata: ["error": "\(error)", "entries": "\(batch.entries.count)"])
                break
            }
        }
        journal.expireWaiters(now: .now + .seconds(3600))
    }
}
