import Crypto
import Foundation
import Hummingbird

/// Guards `/internal/...`: only a caller presenting the platform's service token gets through.
/// A user's access token never equals it, so user tokens are refused there. Every other path
/// passes on untouched (the access-token middleware handles those).
public struct ServiceTokenMiddleware<Context: ServiceRequestContext>: RouterMiddleware {
    let expected: [UInt8]

    public init(serviceToken: String) {
        expected = Array(SHA256.hash(data: Data(serviceToken.utf8)))
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix(internalPathPrefix) else {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], let token = AuthMiddleware<Context>.bearerToken(header) else {
            throw Problem.unauthorized("Internal routes need the service token (Authorization: Bearer <service token>).")
        }
        // Hashes compared in constant time: neither the token's length nor its prefix leaks.
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        guard zip(presented, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw Problem.unauthorized("Internal routes accept only the service token; user tokens are refused here.")
        }
        var context = context
        context.isServiceCaller = true
        return try await next(request, context)
    }
}
