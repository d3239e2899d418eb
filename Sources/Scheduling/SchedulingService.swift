import Foundation
import Hummingbird
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Store

/// The scheduling service: the directory, sign-in and the timetable.
public struct SchedulingService: CloudClassService {
    public let config: SchedulingConfig
    public let database: Database
    public let hasher: PasswordHasher
    public let throttle: SignInThrottle
    let issuer: TokenIssuer
    let outbox: Outbox
    /// Delivers the outbox (lesson changes) to the services that subscribe.
    public let relay: OutboxRelay
    public let deactivatedUsers = DeactivatedUsers()
    public var deactivationSource: any DeactivationSource { Deactivations(database: database) }

    public init(config: SchedulingConfig, database: Database, logger: Logger = Logger(label: "cloudclass.scheduling")) async throws {
        self.config = config
        self.database = database
        self.hasher = PasswordHasher(cost: config.bcryptCost, workers: config.bcryptWorkers, queueLimit: config.bcryptQueueLimit)
        self.throttle = SignInThrottle(perUsernameAndAddress: config.loginThrottle, perUsername: config.usernameThrottle, perAddress: config.addressThrottle)
        self.issuer = try await TokenIssuer(privateKeyPEM: config.signingKeyPEM, accessTokenLifetime: config.accessTokenLifetime)
        self.outbox = Outbox(settings: config.service)
        self.relay = OutboxRelay(
            settings: config.service, database: database,
            client: InternalClient(http: InternalClient.sharedHTTPClient, serviceToken: config.service.serviceToken), logger: logger
        )
    }

    public var settings: ServiceSettings { config.service }

    /// Roster files may be this large (every other body is limited to 1 MiB).
    public static var rosterBodyLimit: Int { RosterController.maximumBodyBytes }

    public var gauges: [ServiceMetrics.SampledGauge] {
        let hasher = self.hasher
        return [ServiceMetrics.SampledGauge("cloudclass_bcrypt_queue_depth", help: "Password checks running or waiting") { Double(hasher.queueDepth) }]
            + relay.gauges
    }

    public func backgroundServices(logger: Logger) -> [any Service] {
        [IdempotencyPurge(idempotency: Idempotency(database: database), logger: logger), relay]
    }

    public func addRoutes(to routes: RouteTable) {
        let authStore = AuthStore(database: database, refreshTokenLifetime: config.refreshTokenLifetime, reuseGrace: config.refreshReuseGrace)
        InternalController(store: authStore, database: database).register(on: routes)
        AuthController(
            store: authStore,
            hasher: hasher,
            throttle: throttle,
            addresses: ClientAddressResolver(trustedProxies: config.service.trustedProxies),
            issuer: issuer,
            calendarLinks: CalendarLinks(database: database, publicURL: config.service.publicURL)
        ).register(on: routes)
        DirectoryController(database: database).register(on: routes)
        ClassesController(database: database).register(on: routes)
        UsersController(database: database, hasher: hasher).register(on: routes)
        let idempotency = Idempotency(database: database)
        RosterController(database: database, idempotency: idempotency).register(on: routes)
        let courses = CourseAccess(database: database)
        let bookings = Bookings(database: database)
        let involvement = Involvement(database: database)
        CoursesController(
            database: database, courses: courses, bookings: bookings, idempotency: idempotency, involvement: involvement,
            beforeEnrollmentCommits: config.beforeEnrollmentCommits
        )
            .register(on: routes)
        LessonsController(database: database, courses: courses, bookings: bookings, idempotency: idempotency, involvement: involvement, outbox: outbox)
            .register(on: routes)
        TimetableController(database: database, timetable: TimetableQuery(database: database), timeZone: config.timeZone).register(on: routes)
    }
}

extension SchedulingService {
    /// How the platform runs, routes to and seeds the scheduling service.
    public static let descriptor = ServiceDescriptor(
        name: .scheduling,
        // Its first five files predate per-service folders; timetables' exclusion constraints
        // combine `=` on ids with `&&` on times, which needs btree_gist.
        schema: ServiceSchema(service: "scheduling", extensions: ["btree_gist"], legacyFlatVersions: 1...5),
        gatewayRoutes: [
            .init("^/api/v1/schools/[^/]+/roster$", maximumBodyBytes: rosterBodyLimit),
            // A feed's URL is its only credential: logs never show it.
            .init("^/api/v1/calendar/", loggedPath: "/api/v1/calendar/<token>.ics"),
            // Whatever no other service claims under /api/v1/ is scheduling's (the directory,
            // sign-in, the timetable).
            .init("^/api/v1(/|$)", isFallback: true),
        ],
        secrets: [SchedulingConfig.signingKey],
        make: { settings, environment, database in
            try await SchedulingService(config: try SchedulingConfig.fromEnvironment(environment, service: settings), database: database)
        },
        seedDemo: { demo in
            let cost = try demo.environment.int("CLOUDCLASS_BCRYPT_COST", default: 12, in: 4...31)
            try await DemoData.seed(database: demo.database, hasher: PasswordHasher(cost: cost, workers: 1, queueLimit: 1), logger: demo.logger)
        },
        demoSummary: [
            "try: curl -s {gateway}/api/v1/auth/login -H 'content-type: application/json' \\",
            "          -d '{\"username\":\"admin\",\"password\":\"\(DemoData.password)\"}'",
            "demo accounts (demo only): admin, teacher, teacher2, student, pupil001…pupil200; password \"\(DemoData.password)\"",
        ]
    )
}
