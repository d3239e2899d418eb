import Hummingbird
import Logging
import Store

/// Turns every error a handler throws into problem+json: our own `Problem`s as they are,
/// Hummingbird's and NIO's HTTP errors (404, 413, …) with their status, and anything else into a
/// logged 500 that says nothing about internals.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let failure as any ProblemConvertible {
            context.logger.warning("answered as a problem", metadata: ["error": "\(failure)", "route": "\(Self.loggedRoute(request, context))"])
            return try failure.problem.response(from: request, context: context)
        } catch where error.isTransientDatabaseFailure {
            context.logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))", "route": "\(Self.loggedRoute(request, context))"])
            return try Problem.retryLater(.serviceUnavailable, after: 2, detail: "The database is briefly unavailable; try again in a moment.")
                .response(from: request, context: context)
        } catch where error.refusedValue != nil {
            let refused = error.refusedValue!
            context.logger.warning(
                "database refused a value that passed validation",
                metadata: ["field": "\(refused.field)", "sqlstate": "\(refused.sqlState)", "route": "\(Self.loggedRoute(request, context))"]
            )
            return try Problem.invalid(field: refused.field, "is not a value this field can hold").response(from: request, context: context)
        } catch let error as HTTPResponseError {
            return try Self.problem(for: error, request: request).response(from: request, context: context)
        } catch {
            context.logger.error(
                "unhandled error",
                metadata: ["error": "\(String(reflecting: error))", "route": "\(Self.loggedRoute(request, context))"]
            )
            return try Problem(.internalServerError, detail: "The server failed to handle this request; it has been logged.")
                .response(from: request, context: context)
        }
    }

    /// What a log says about where a request went: the matched route's pattern, never the path
    /// itself, whose segments may be credentials (a calendar feed's token) and whose length is
    /// the caller's choice.
    static func loggedRoute(_ request: Request, _ context: Context) -> String {
        if let pattern = context.endpointPath { return "\(request.method) \(pattern)" }
        return "\(request.method) (no route)"
    }

    static func problem(for error: HTTPResponseError, request: Request) -> Problem {
        switch error.status {
        case .notFound:
            return .notFound("No resource at \(request.method) \(request.uri.path).")
        case .contentTooLarge:
            return Problem(.contentTooLarge, detail: "The request body is larger than this route accepts.")
        case .methodNotAllowed:
            return Problem(.methodNotAllowed, detail: "\(request.method) is not allowed on \(request.uri.path).")
        default:
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return Problem(error.status, detail: message)
        }
    }
}
