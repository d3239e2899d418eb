import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle
import Store

/// A CloudClass service as the kit runs it: its routes, the work it does beside serving, and the
/// figures it adds to `/metrics`. `buildApplication` turns one into the process's application,
/// the same way for `serve` and for tests.
public protocol CloudClassService: Sendable {
    var settings: ServiceSettings { get }
    var database: Database { get }
    /// Registers every route, each with the callers it accepts.
    func addRoutes(to routes: RouteTable)
    /// Long-running work beside the server (purges, relays), started and stopped with it.
    func backgroundServices(logger: Logger) -> [any Service]
    /// Extra gauges sampled at each scrape of `/metrics`.
    var gauges: [ServiceMetrics.SampledGauge] { get }
    /// Whose tokens are refused, kept in memory and refreshed from `deactivationSource`.
    var deactivatedUsers: DeactivatedUsers { get }
    /// Scheduling's own table for scheduling; scheduling over the internal protocol for the others.
    var deactivationSource: any DeactivationSource { get }
    /// Why the service is not ready yet (still loading what it serves from), or nil: `/ready`
    /// answers 503 with it until then, so `up` and balancers wait.
    var notReadyBecause: String? { get }
}

extension CloudClassService {
    public func backgroundServices(logger: Logger) -> [any Service] { [] }
    public var gauges: [ServiceMetrics.SampledGauge] { [] }
    public var notReadyBecause: String? { nil }
}

/// The application of one service process.
public typealias ServiceApplication = Application<RouterResponder<AppRequestContext>>

extension CloudClassService {
    /// Every route of the service behind the middleware every service shares (request id,
    /// request metrics, problem+json), plus `/health`, `/ready` and `/metrics`.
    public func buildRoutes() async throws -> RouteTable {
        let metrics = ServiceMetrics(service: settings.service.rawValue, database: database, gauges: gauges + deactivatedUsers.gauges)
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        if settings.requestMetrics { router.add(middleware: MetricsMiddleware(metrics: metrics)) }
        router.add(middleware: ProblemMiddleware())
        let keys = CallerKeys(
            accessTokens: try await AccessTokenVerifier(publicKeyPEM: settings.accessTokenPublicKeyPEM),
            serviceToken: settings.serviceToken,
            deactivated: deactivatedUsers
        )
        let routes = RouteTable(router: router, keys: keys)
        HealthRoutes(service: settings.service.rawValue, database: database, deactivatedUsers: deactivatedUsers) { [self] in notReadyBecause }
            .register(on: routes)
        metrics.register(on: routes)
        addRoutes(to: routes)
        return routes
    }

    /// The process's application: the server on the service's address, the database pool and the
    /// background services, shut down gracefully together.
    /// - Parameter onServerRunning: called once the server listens (tests learn the port).
    public func buildApplication(
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) async throws -> ServiceApplication {
        let routes = try await buildRoutes()
        return Application(
            router: routes.router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "cloudclass-\(settings.service.rawValue)"),
            services: [database.client, DeactivatedUsersRefresher(list: deactivatedUsers, source: deactivationSource, logger: logger)]
                + backgroundServices(logger: logger),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}
