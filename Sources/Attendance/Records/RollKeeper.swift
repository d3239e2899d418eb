import Foundation
import InternalProtocol
import Logging
import ServiceLifecycle

/// Keeps the roll of every lesson that ends, a few seconds after it ends: walks scheduling's
/// ended lessons from where it last stopped (the cursor is stored with the rolls it covers, so
/// a crash repeats a page at worst and a kept roll is never rewritten). While scheduling or the
/// database is down it waits and goes on from the same place; a report asked for in between
/// keeps its lesson's roll itself.
struct RollKeeper: Service {
    let store: RecordStore
    /// Makes the months' partitions (the roll's with the sessions') before the first roll is kept.
    let sessions: SessionStore
    let scheduling: SchedulingClient
    let interval: Duration
    /// How far back a service that has never kept a roll starts.
    let firstLookBack: TimeInterval
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var partitioned = false
            while !Task.isCancelled {
                do {
                    if !partitioned {
                        try await sessions.ensureMonths(around: Date(), logger: logger)
                        partitioned = true
                    }
                    let kept = try await keepEnded(until: Date())
                    if kept > 0 { logger.info("rolls kept", metadata: ["lessons": "\(kept)"]) }
                } catch {
                    if !Task.isCancelled { logger.warning("cannot keep the ended lessons' rolls yet", metadata: ["error": "\(String(reflecting: error))"]) }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Keeps the rolls of the lessons that ended by `until`; how many lessons that was.
    func keepEnded(until: Date) async throws -> Int {
        var cursor = try await store.rollCursor(logger: logger) ?? .start(after: until.addingTimeInterval(-firstLookBack))
        var kept = 0
        while !Task.isCancelled {
            let page = try await scheduling.endedRolls(after: cursor, until: until, logger: logger)
            guard let next = page.next else { break }
            try await store.keep(page.rolls, advancing: next, logger: logger)
            kept += page.rolls.count
            cursor = next
            if page.complete { break }
        }
        return kept
    }
}
