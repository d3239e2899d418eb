import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A user deactivated at a time: their access tokens, valid for hours yet, stop working.
public struct DeactivatedUser: Codable, Sendable, Equatable {
    public var userID: UUID
    public var deactivatedAt: Date

    public init(userID: UUID, deactivatedAt: Date) {
        self.userID = userID
        self.deactivatedAt = deactivatedAt
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case deactivatedAt = "deactivated_at"
    }
}

/// Where a service learns who was deactivated since a time: scheduling reads its own table,
/// every other service asks scheduling over the internal protocol.
public protocol DeactivationSource: Sendable {
    func deactivated(since: Date, logger: Logger) async throws -> [DeactivatedUser]
}

/// The users whose access tokens every route refuses, held in memory so a request costs a
/// dictionary lookup and no database read. Kept current by `DeactivatedUsersRefresher`; when it
/// cannot reach its source it keeps the last list (tokens still expire) and says how old it is.
public final class DeactivatedUsers: Sendable {
    /// Longer than any access token lives (12 h): a user deactivated before this has no valid token left.
    public static let retention: TimeInterval = 24 * 3600
    /// Older than this, `/ready` and the metric say the list is stale.
    public static let staleAfter: TimeInterval = 10

    struct State {
        var users: [UUID: Date] = [:]
        var newest: Date?
        var lastRefreshed: Date?
        var failingSince: Date?
    }

    private let state = Mutex(State())
    let started = Date()

    public init() {}

    public func contains(_ userID: UUID) -> Bool {
        state.withLock { $0.users[userID] != nil }
    }

    public var count: Int { state.withLock { $0.users.count } }

    /// Seconds since the list was last refreshed (since start, before the first refresh).
    public func age(now: Date = Date()) -> TimeInterval {
        now.timeIntervalSince(state.withLock { $0.lastRefreshed } ?? started)
    }

    public func isStale(now: Date = Date()) -> Bool { age(now: now) > Self.staleAfter }

    /// Where the next refresh starts: a little before the newest change seen, since a
    /// deactivation committed late may carry an earlier time than one already seen.
    func nextSince(now: Date) -> Date {
        let newest = state.withLock { $0.newest } ?? now.addingTimeInterval(-Self.retention)
        return newest.addingTimeInterval(-30)
    }

    func apply(_ batch: [DeactivatedUser], now: Date) {
        state.withLock { state in
            for user in batch {
                state.users[user.userID] = user.deactivatedAt
                if state.newest.map({ user.deactivatedAt > $0 }) ?? true { state.newest = user.deactivatedAt }
            }
            let horizon = now.addingTimeInterval(-Self.retention)
            if state.users.values.contains(where: { $0 < horizon }) { state.users = state.users.filter { $0.value >= horizon } }
            state.lastRefreshed = now
            state.failingSince = nil
        }
    }

    /// Returns true the first time in a row of failures (so a long outage is logged once).
    func failed(now: Date) -> Bool {
        state.withLock { state in
            guard state.failingSince == nil else { return false }
            state.failingSince = now
            return true
        }
    }

    /// What `/ready` says about the list.
    public func readiness(now: Date = Date()) -> String {
        let age = Int(age(now: now).rounded())
        return isStale(now: now) ? "stale: not refreshed for \(age) s; the last list is used" : "current"
    }

    public var gauges: [ServiceMetrics.SampledGauge] {
        [
            .init("cloudclass_deactivated_users", help: "Users whose access tokens are refused") { Double(self.count) },
            .init("cloudclass_deactivated_users_age_seconds", help: "Seconds since the deactivated users' list was refreshed") { self.age() },
        ]
    }
}

/// Refreshes a `DeactivatedUsers` list from its source every `interval`, whatever happens.
public struct DeactivatedUsersRefresher: Service {
    let list: DeactivatedUsers
    let source: any DeactivationSource
    let interval: Duration
    let logger: Logger

    public init(list: DeactivatedUsers, source: any DeactivationSource, interval: Duration = .seconds(1), logger: Logger) {
        self.list = list
        self.source = source
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await refresh()
                try? await Task.sleep(for: interval)
            }
        }
    }

    public func refresh() async {
        let now = Date()
        do {
            let batch = try await source.deactivated(since: list.nextSince(now: now), logger: logger)
            let wasFailing = list.isStale(now: now)
            list.apply(batch, now: now)
            if wasFailing { logger.notice("deactivated users' list refreshed again") }
        } catch {
            if list.failed(now: now) {
                logger.warning("cannot refresh the deactivated users' list; keeping the last one", metadata: ["error": "\(error)"])
            }
        }
    }
}
