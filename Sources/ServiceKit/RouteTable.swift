import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// A router that remembers the routes it was given, so a test can hold them against the OpenAPI
/// document (Hummingbird's router does not list its routes).
public final class RouteTable<Context: RequestContext> {
    public struct Route: Hashable, Sendable, CustomStringConvertible {
        public var method: String
        /// The path in OpenAPI form: `/api/v1/schools/{id}`.
        public var path: String
        public var description: String { "\(method) \(path)" }
    }

    public let router: Router<Context>
    private let recorded = NIOLockedValueBox<[Route]>([])

    public init(router: Router<Context>) {
        self.router = router
    }

    public var routes: [Route] { recorded.withLockedValue { $0 } }

    public func on<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String,
        use handler: @escaping @Sendable (Request, Context) async throws -> Output
    ) {
        recorded.withLockedValue { $0.append(Route(method: method.rawValue, path: Self.openAPIPath(path))) }
        router.on(RouterPath(path), method: method, use: handler)
    }

    public func get<Output: ResponseGenerator>(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> Output) {
        on(.get, path, use: handler)
    }

    public func post<Output: ResponseGenerator>(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> Output) {
        on(.post, path, use: handler)
    }

    public func patch<Output: ResponseGenerator>(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> Output) {
        on(.patch, path, use: handler)
    }

    /// `/schools/:id` → `/schools/{id}`
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }
}
