import Foundation
import Hummingbird
import Logging
import ServiceKit
import SessionTokens

/// A player holding a valid session token for the session in the path.
public struct SessionHolder: CallerIdentity {
    public let claims: SessionClaims
    public var logMetadata: Logger.Metadata { ["session": .string(claims.session.lowercased)] }
}

/// Checks the session token (HMAC, microseconds: the busiest path never verifies a user JWT).
/// A token for another session is the same as no such session: 404.
struct SessionAuthenticator: Authenticator {
    let key: SessionTokenKey

    func authenticate(_ request: Request, context: AppRequestContext) async throws -> SessionHolder {
        guard let token = request.bearerToken else {
            throw Problem.unauthorized("A player beats with `Authorization: Bearer <the session token from its join>`.")
        }
        switch SessionToken.check(token, key: key, now: Date()) {
        case .failure(.expired):
            throw Problem.unauthorized("The session token has expired; join the lesson again.")
        case .failure:
            throw Problem.unauthorized("Not a session token of this platform.")
        case .success(let claims):
            // Compared as text: Foundation parses a UUID with sscanf, a cost on every beat.
            guard let text = context.parameters.get("id"), text.lowercased() == claims.session.lowercased else {
                throw Problem.notFound("No such viewing session for this token.")
            }
            return SessionHolder(claims: claims)
        }
    }
}
