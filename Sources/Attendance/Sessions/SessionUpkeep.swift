import Foundation
import Logging
import ServiceLifecycle

/// The sessions' housekeeping: the months around now stay partitions of their own as time goes
/// on, leaves from before a restart are remembered, silent sessions forgotten.
struct SessionUpkeep: Service {
    let config: AttendanceConfig
    let live: LiveSessions
    let store: SessionStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var restored = false
            // The writer made the months around the start before its first write.
            var lastPartitioned = Date()
            while !Task.isCancelled {
                let now = Date()
                if now.timeIntervalSince(lastPartitioned) > 6 * 3600 {
                    do {
                        try await store.ensureMonths(around: now, logger: logger)
                        lastPartitioned = now
                    } catch {
                        if !Task.isCancelled { logger.warning("cannot create the months' partitions yet", metadata: ["error": "\(String(reflecting: error))"]) }
                    }
                }
                if !restored {
                    do {
                        live.restoreLeaves(try await store.recentLeaves(since: now.addingTimeInterval(-86_400), logger: logger), now: now)
                        restored = true
                    } catch {
                        if !Task.isCancelled { logger.warning("cannot read recent leaves yet", metadata: ["error": "\(String(reflecting: error))"]) }
                    }
                }
                _ = live.forgetSilent(now: now, endGrace: config.endGrace.seconds)
                try? await Task.sleep(for: .seconds(restored ? 30 : 1))
            }
        }
    }
}
