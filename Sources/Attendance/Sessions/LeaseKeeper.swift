import Foundation
import InternalProtocol
import Logging
import ServiceLifecycle

/// Keeps the bandwidth leases of the sessions that beat, in bulk and never on a beat's path:
/// every `interval` the allocations of sessions seen within the idle timeout are renewed, up to
/// `InternalRoutes.mostAllocationsPerCall` a call, and those of sessions left are released. What
/// a renewal says (moved, lost, expired) reaches the player with its next beat. While bandwidth
/// is away nothing is lost: its leases do not expire while it is down (a restart gives them a
/// fresh term), releases are kept for the next round, and a lease that lapsed meanwhile makes its
/// player join again.
struct LeaseKeeper: Service {
    let live: LiveSessions
    let bandwidth: BandwidthClient
    let interval: Duration
    /// Sessions silent longer than this are not renewed: their players are gone.
    let seenWithin: TimeInterval
    /// How widely the players of expired leases spread their joins again (seconds).
    let rejoinSpread: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var unreleased: [UUID] = []
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                unreleased += live.takeReleases()
                unreleased = await release(unreleased)
                await renew(live.held(now: Date(), within: seenWithin))
            }
        }
    }

    /// Renews every lease held; a call that fails is tried again with the next round.
    func renew(_ held: [LiveSessions.Held]) async {
        var moved = 0
        var lost = 0
        for chunk in held.chunked(InternalRoutes.mostAllocationsPerCall) {
            do {
                let renewals = try await bandwidth.renew(chunk.map(\.allocation), requestID: nil, logger: logger)
                let now = Date()
                for (session, renewal) in zip(chunk, renewals) where renewal.allocationID == session.allocation {
                    live.renewed(session, renewal, now: now, rejoinSpread: rejoinSpread)
                    if renewal.state == .moved { moved += 1 } else if renewal.state != .renewed { lost += 1 }
                }
            } catch {
                if !Task.isCancelled { logger.warning("cannot renew the sessions' leases yet", metadata: ["sessions": "\(chunk.count)", "error": "\(String(reflecting: error))"]) }
                return
            }
        }
        if moved + lost > 0 { logger.notice("viewers to move", metadata: ["moved": "\(moved)", "to_rejoin": "\(lost)"]) }
    }

    /// Releases the allocations of sessions left; returns those not released yet.
    func release(_ allocations: [UUID]) async -> [UUID] {
        var left: [UUID] = []
        for chunk in allocations.chunked(InternalRoutes.mostAllocationsPerCall) {
            guard left.isEmpty else {
                left += chunk
                continue
            }
            do {
                try await bandwidth.release(chunk, requestID: nil, logger: logger)
            } catch {
                if !Task.isCancelled { logger.warning("cannot release the left sessions' allocations yet", metadata: ["error": "\(String(reflecting: error))"]) }
                left += chunk
            }
        }
        return left
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
