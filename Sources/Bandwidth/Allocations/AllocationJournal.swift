import Foundation
import Synchronization

/// An allocation as the store keeps it.
public struct StoredAllocation: Sendable, Equatable {
    var id: UUID
    var lessonID: UUID
    var edgeID: UUID
    /// Where the viewer is.
    var network: String
    var region: String
    var askedRendition: String
    var rendition: String
    var bitrateMbps: Double
    var replaces: UUID?
}

/// What must reach the store, in the order it was decided, with group commit: the writer takes
/// everything pending in one batch (one transaction, one statement per kind), and an allocation
/// is answered only once the batch holding it has committed — so an acknowledged allocation
/// survives a crash, and many joins share one commit.
public final class AllocationJournal: Sendable {
    enum Operation: Sendable, Equatable {
        case insert(StoredAllocation)
        case delete(UUID)

        var id: UUID {
            switch self {
            case .insert(let row): row.id
            case .delete(let id): id
            }
        }
    }

    struct Batch {
        var operations: [(sequence: UInt64, operation: Operation)]
        var through: UInt64 { operations.last?.sequence ?? 0 }

        /// The last word on each id: an insert and a later delete of one allocation in the
        /// same batch become the delete.
        var net: (inserts: [StoredAllocation], deletes: [UUID]) {
            var last: [UUID: Operation] = [:]
            for (_, operation) in operations { last[operation.id] = operation }
            var inserts: [StoredAllocation] = [], deletes: [UUID] = []
            for operation in last.values {
                switch operation {
                case .insert(let row): inserts.append(row)
                case .delete(let id): deletes.append(id)
                }
            }
            return (inserts, deletes)
        }
    }

    private struct Waiter {
        var sequence: UInt64
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var pending: [(sequence: UInt64, operation: Operation)] = []
        var lastRecorded: UInt64 = 0
        var committed: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// Yields when there is something to write (and on every `nudge`).
    let wakes: AsyncStream<Void>

    public init() {
        (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    @discardableResult
    func record(_ operation: Operation) -> UInt64 {
        let sequence = state.withLock { state in
            state.lastRecorded += 1
            state.pending.append((state.lastRecorded, operation))
            return state.lastRecorded
        }
        wakeContinuation.yield()
        return sequence
    }

    var lastRecorded: UInt64 { state.withLock { $0.lastRecorded } }
    var pendingCount: Int { state.withLock { $0.pending.count } }

    func nudge() { wakeContinuation.yield() }

    /// Waits until everything up to `sequence` has committed; false when `timeout` passed first.
    func committed(_ sequence: UInt64, within timeout: Duration) async -> Bool {
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
            return Batch(operations: taken)
        }
    }

    /// A batch that could not be written goes back ahead of everything recorded since.
    func putBack(_ batch: Batch) {
        state.withLock { $0.pending.insert(contentsOf: batch.operations, at: 0) }
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
