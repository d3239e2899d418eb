import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// The scheduling service: the directory, sign-in and (with later issues) the timetable.
public struct SchedulingService: Sendable {
    public let config: SchedulingConfig
    public let database: Database
    public let metrics: ServiceMetrics
    public let hasher: PasswordHasher
    public let throttle: LoginThrottle
    public let addressThrottle: LoginThrottle
    let issuer: TokenIssuer
    let verifier: AccessTokenVerifier

    public init(config: SchedulingConfig, database: Database) async throws {
        self.config = config
        self.database = database
        let hasher = PasswordHasher(cost: config.bcryptCost, workers: config.bcryptWorkers, queueLimit: config.bcryptQueueLimit)
        self.hasher = hasher
        self.metrics = ServiceMetrics(
            service: "scheduling",
            database: database,
            gauges: [("cloudclass_bcrypt_queue_depth", "Password checks running or waiting", { Double(hasher.queueDepth) })]
        )
        self.throttle = LoginThrottle(policy: config.loginThrottle)
        self.addressThrottle = LoginThrottle(policy: config.addressThrottle)
        self.issuer = try await TokenIssuer(privateKeyPEM: config.signingKeyPEM, accessTokenLifetime: config.accessTokenLifetime)
        self.verifier = try await AccessTokenVerifier(publicKeyPEM: issuer.publicKeyPEM)
    }

    public var publicKeyPEM: String { issuer.publicKeyPEM }

    /// Roster files may be this large (every other body is limited to 1 MiB).
    public static var rosterBodyLimit: Int { RosterController.maximumBodyBytes }

    /// Every route of the service, with the middleware every route shares.
    public func routes() -> RouteTable<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        if config.requestMetrics { router.add(middleware: MetricsMiddleware(metrics: metrics)) }
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: ServiceTokenMiddleware(serviceToken: config.serviceToken))
        router.add(middleware: AuthMiddleware(verifier: verifier))
        let routes = RouteTable(router: router)
        let authStore = AuthStore(database: database, refreshTokenLifetime: config.refreshTokenLifetime, reuseGrace: config.refreshReuseGrace)
        HealthRoutes(service: "scheduling", database: database).register(on: routes)
        metrics.register(on: routes)
        InternalController(store: authStore, database: database).register(on: routes)
        AuthController(
            store: authStore,
            hasher: hasher,
            throttle: throttle,
            addressThrottle: addressThrottle,
            addresses: ClientAddressResolver(trustedProxies: config.trustedProxies),
            issuer: issuer,
            calendarLinks: CalendarLinks(database: database, publicURL: config.publicURL)
        ).register(on: routes)
        DirectoryController(database: database).register(on: routes)
        ClassesController(database: database).register(on: routes)
        UsersController(database: database, hasher: hasher).register(on: routes)
        RosterController(database: database).register(on: routes)
        let courses = CourseAccess(database: database)
        let bookings = Bookings(database: database)
        let idempotency = Idempotency(database: database)
        let involvement = Involvement(database: database)
        CoursesController(database: database, courses: courses, bookings: bookings, idempotency: idempotency, involvement: involvement)
            .register(on: routes)
        LessonsController(database: database, courses: courses, bookings: bookings, idempotency: idempotency, involvement: involvement)
            .register(on: routes)
        TimetableController(database: database, timetable: TimetableQuery(database: database), timeZone: config.timeZone).register(on: routes)
        return routes
    }

    /// - Parameter onServerRunning: called once the server listens (tests learn the port).
    public func application(
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: routes().router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "cloudclass-scheduling"),
            services: [database.client, IdempotencyPurge(idempotency: Idempotency(database: database), logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}
