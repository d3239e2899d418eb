import NIOCore

import PostgresNIO
import Synchronization

/// No connection came within the lease timeout: the pool is exhausted or the database out of
/// reach. Transient, like a dropped connection.
public struct DatabaseBusy: Error, CustomStringConvertible {
    public let waited: Duration
    public var description: String { "no database connection within \(waited)" }
}

/// A connection leased by a task of its own and handed to the caller, so that the caller's wait
/// is bounded: PostgresClient's lease has no timeout, and its pool, in a run here in a few dozen
/// PostgreSQL restarts, left a request waiting forever. The holder keeps the lease until the
/// caller releases it; a connection that arrives after the caller gave up goes straight back.
final class ConnectionHandoff: Sendable {
    private enum Delivery {
        case pending(CheckedContinuation<PostgresConnection, any Error>?)
        case settled(Result<PostgresConnection, any Error>)
        case taken
    }

    private enum Holding {
        case held(CheckedContinuation<Void, Never>?)
        case released
    }

    private let delivery = Mutex(Delivery.pending(nil))
    private let holding = Mutex(Holding.held(nil))
    private let handedOver = Mutex<PostgresConnection?>(nil)

    var connection: PostgresConnection { handedOver.withLock { $0! } }

    static func lease(from client: PostgresClient, within timeout: Duration) async throws -> ConnectionHandoff {
        let handoff = ConnectionHandoff()
        let holder = Task {
            do {
                try await client.withConnection { connection in
                    guard handoff.settle(.success(connection)) else { return }
                    await handoff.untilReleased()
                }
            } catch {
                handoff.settle(.failure(error))
            }
        }
        let timer = PostgresClient.defaultEventLoopGroup.next().scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            if handoff.settle(.failure(DatabaseBusy(waited: timeout))) { holder.cancel() }
        }
        defer { timer.cancel() }
        let connection = try await withTaskCancellationHandler {
            try await handoff.delivered()
        } onCancel: {
            if handoff.settle(.failure(CancellationError())) { holder.cancel() }
        }
        handoff.handedOver.withLock { $0 = connection }
        return handoff
    }

    /// Settles the caller's wait, once: true for the first outcome, false after (the caller
    /// has its answer already).
    @discardableResult
    private func settle(_ outcome: Result<PostgresConnection, any Error>) -> Bool {
        let (first, waiter) = delivery.withLock { state -> (Bool, CheckedContinuation<PostgresConnection, any Error>?) in
            guard case .pending(let waiter) = state else { return (false, nil) }
            state = waiter == nil ? .settled(outcome) : .taken
            return (true, waiter)
        }
        waiter?.resume(with: outcome)
        return first
    }

    private func delivered() async throws -> PostgresConnection {
        try await withCheckedThrowingContinuation { continuation in
            let ready = delivery.withLock { state -> Result<PostgresConnection, any Error>? in
                if case .settled(let outcome) = state {
                    state = .taken
                    return outcome
                }
                state = .pending(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    private func untilReleased() async {
        await withCheckedContinuation { continuation in
            let released = holding.withLock { state -> Bool in
                if case .released = state { return true }
                state = .held(continuation)
                return false
            }
            if released { continuation.resume() }
        }
    }

    func release() {
        let holder = holding.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .released }
            if case .held(let holder) = state { return holder }
            return nil
        }
        holder?.resume()
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
