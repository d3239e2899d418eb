import Foundation
import Hummingbird
import InternalProtocol
import Logging
import ServiceKit
import ServiceLifecycle
import SessionTokens
import Store

/// The attendance service: viewing sessions and the minutes they watched, from the players'
/// heartbeats, and the lasting record teachers and schools read.
public struct AttendanceService: CloudClassService {
    public let config: AttendanceConfig
    public var settings: ServiceSettings { config.service }
    public let database: Database
    public let deactivatedUsers = DeactivatedUsers()
    public var deactivationSource: any DeactivationSource { SchedulingClient(settings: settings) }
    let journal: SessionJournal
    let live: LiveSessions
    let lessonEnds = LessonEnds()
    let sessions: SessionStore
    let records: LessonRecords

    public init(config: AttendanceConfig, database: Database) {
        self.config = config
        self.database = database
        journal = SessionJournal(pendingLimit: config.pendingBeatsLimit)
        live = LiveSessions(burst: config.beatBurst, refill: config.beatRefill, moveRepeat: config.moveRepeat)
        sessions = SessionStore(database: database)
        records = LessonRecords(store: RecordStore(database: database), scheduling: SchedulingClient(settings: config.service))
    }

    public func addRoutes(to routes: RouteTable) {
        HeartbeatsController(config: config, journal: journal, live: live, lessonEnds: lessonEnds).register(on: routes)
        LessonAttendanceController(config: config, records: records).register(on: routes)
        RulesController(records: records).register(on: routes)
        RangeReportsController(records: RangeRecords(store: records.store, watchedSecondsPerMinute: config.watchedSecondsPerMinute)).register(on: routes)
        Inbox(settings: settings, database: database, handlers: [LessonChanged.kind: RecordStore.follow, SessionJoined.kind: SessionStore.join])
            .register(on: routes)
    }

    public func backgroundServices(logger: Logger) -> [any Service] {
        [
            GroupCommitWriter(
                journal: journal, what: "heartbeats", batchLimit: 10_000, logger: logger,
                prepare: { [sessions, logger] in try await sessions.ensureMonths(around: Date(), logger: logger) },
                write: { [sessions, logger] in try await sessions.apply($0, logger: logger) }
            ),
            SessionUpkeep(config: config, live: live, lessonEnds: lessonEnds, store: sessions, logger: logger),
            LeaseKeeper(
                live: live, bandwidth: BandwidthClient(settings: settings), interval: config.leaseRenewalInterval, seenWithin: config.idleTimeout.inSeconds,
                rejoinSpread: config.heartbeatSeconds, logger: logger
            ),
            RollKeeper(
                store: records.store, sessions: sessions, scheduling: records.scheduling, interval: config.rollKeepingInterval,
                firstLookBack: config.rollFirstLookBack, logger: logger
            ),
        ]
    }

    public var gauges: [ServiceMetrics.SampledGauge] {
        let (journal, live) = (journal, live)
        return [
            .init("cloudclass_heartbeats_pending", help: "Beats and leaves not yet stored") { Double(journal.pendingCount) },
            .init("cloudclass_sessions_remembered", help: "Viewing sessions this process remembers (rate limits, leaves)") { Double(live.count) },
        ]
    }
}

extension AttendanceService {
    public static let descriptor = ServiceDescriptor(
        name: .attendance,
        schema: ServiceSchema(service: "attendance"),
        gatewayRoutes: [
            .init("^/api/v1/sessions(/|$)"), .init("^/api/v1/attendance(/|$)"),
            // Before scheduling's catch-all, which serves the lessons themselves.
            .init("^/api/v1/lessons/[^/]+/(attendance|viewers)(/|$)"),
        ],
        secrets: [.sessionTokenKey, .playbackSigningKey],
        subscriptions: [LessonChanged.kind, SessionJoined.kind],
        make: { settings, environment, database in
            AttendanceService(config: try AttendanceConfig.fromEnvironment(environment, service: settings), database: database)
        }
    )
}
