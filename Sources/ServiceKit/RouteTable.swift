import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Where the internal protocol's routes live; only other services (the service token) reach them.
public let internalPathPrefix = "/internal/"

/// The one way a service registers routes. Each route declares the callers it accepts, and its
/// authenticator runs before the handler, which receives the proven caller: a handler cannot
/// forget a check, and a caller of the wrong kind never reaches it. The table also remembers its
/// routes, so tests can hold them against the OpenAPI document (Hummingbird's router does not
/// list its routes).
public final class RouteTable {
    public struct Route: Hashable, Sendable, CustomStringConvertible {
        public var method: String
        /// The path in OpenAPI form: `/api/v1/schools/{id}`.
        public var path: String
        /// The callers it accepts (`open`, `users`, `users(admin)`, `services`, …).
        public var callers: String
        public var description: String { "\(method) \(path)" }
    }

    let router: Router<AppRequestContext>
    let keys: CallerKeys
    private let recorded = NIOLockedValueBox<[Route]>([])

    init(router: Router<AppRequestContext>, keys: CallerKeys) {
        self.router = router
        self.keys = keys
    }

    public var routes: [Route] { recorded.withLockedValue { $0 } }

    public func on<Caller, Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String,
        for callers: Callers<Caller>,
        use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        // Internal routes are for services alone, and the service token opens nothing else.
        precondition(
            path.hasPrefix(internalPathPrefix) == (Caller.self == ServiceCaller.self),
            "\(method) \(path): routes under \(internalPathPrefix) accept `.services`, and only they do"
        )
        recorded.withLockedValue { $0.append(Route(method: method.rawValue, path: Self.openAPIPath(path), callers: callers.name)) }
        let authenticator = callers.authenticator(keys)
        router.on(RouterPath(path), method: method) { request, context in
            let caller = try await authenticator.authenticate(request, context: context)
            return try await handler(request, CallerContext(context, caller: caller))
        }
    }

    public func get<Caller, Output: ResponseGenerator>(
        _ path: String, for callers: Callers<Caller>, use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        on(.get, path, for: callers, use: handler)
    }

    public func post<Caller, Output: ResponseGenerator>(
        _ path: String, for callers: Callers<Caller>, use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        on(.post, path, for: callers, use: handler)
    }

    public func put<Caller, Output: ResponseGenerator>(
        _ path: String, for callers: Callers<Caller>, use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        on(.put, path, for: callers, use: handler)
    }

    public func patch<Caller, Output: ResponseGenerator>(
        _ path: String, for callers: Callers<Caller>, use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        on(.patch, path, for: callers, use: handler)
    }

    public func delete<Caller, Output: ResponseGenerator>(
        _ path: String, for callers: Callers<Caller>, use handler: @escaping @Sendable (Request, CallerContext<Caller>) async throws -> Output
    ) {
        on(.delete, path, for: callers, use: handler)
    }

    /// `/schools/:id` → `/schools/{id}`
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }
}
