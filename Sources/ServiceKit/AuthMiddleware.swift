import Hummingbird

/// Where the internal protocol's routes live; only the service token opens them.
public let internalPathPrefix = "/internal/"

/// Reads `Authorization: Bearer …` when present and sets the context's identity. A request
/// without a token passes on unauthenticated (routes decide whether that is enough); a request
/// with a bad token is refused at once, so a client learns its token is dead.
public struct AuthMiddleware<Context: ServiceRequestContext>: RouterMiddleware {
    let verifier: AccessTokenVerifier

    public init(verifier: AccessTokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Internal routes carry the service token, checked by ServiceTokenMiddleware.
        guard let header = request.headers[.authorization], !request.uri.path.hasPrefix(internalPathPrefix) else {
            return try await next(request, context)
        }
        guard let token = Self.bearerToken(header) else {
            throw Problem.unauthorized("The Authorization header must be `Bearer <access token>`.")
        }
        var context = context
        let identity = try await verifier.identity(fromToken: token)
        context.identity = identity
        context.logger[metadataKey: "user_id"] = .string(identity.userID.uuidString.lowercased())
        return try await next(request, context)
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
