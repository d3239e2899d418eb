import Foundation
import Logging
import ServiceLifecycle
import Store

/// The sessions' housekeeping: the months around now stay partitions of their own as time goes
/// on, leaves from before a restart are remembered, lessons ended early are learnt every few
/// seconds, silent sessions forgotten.
struct SessionUpkeep: Service {
    let config: AttendanceConfig
    let live: LiveSessions
    let lessonEnds: LessonEnds
    let store: SessionStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var restored = false
            // The writer made the months around the start before its first write.
            var lastPartitioned = Date()
            var lastForgotten = Date()
            while !Task.isCancelled {
                let now = Date()
                if now.timeIntervalSince(lastPartitioned) > 6 * 3600 {
                    await attempt("cannot create the months' partitions yet") {
                        try await store.ensureMonths(around: now, logger: logger)
                        lastPartitioned = now
                    }
                }
                if !restored {
                    await attempt("cannot read recent leaves yet") {
                        live.restoreLeaves(try await store.recentLeaves(since: now.addingTimeInterval(-86_400), logger: logger), now: now)
                        restored = true
                    }
                }
                await attempt("cannot read the lessons ended early yet") { try await lessonEnds.refresh(from: store.database, logger: logger) }
                if now.timeIntervalSince(lastForgotten) > 30 {
                    _ = live.forgetSilent(now: now, endGrace: config.endGrace.inSeconds)
                    lastForgotten = now
                }
                try? await Task.sleep(for: config.lessonEndsRefresh)
            }
        }
    }

    private func attempt(_ warning: Logger.Message, _ work: () async throws -> Void) async {
        do {
            try await work()
        } catch {
            if !Task.isCancelled { logger.warning(warning, metadata: ["error": "\(String(reflecting: error))"]) }
        }
    }
}
