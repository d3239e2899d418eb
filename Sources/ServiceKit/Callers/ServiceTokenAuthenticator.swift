import Foundation
import Hummingbird

/// The platform's service token: what other services present on `/internal/` routes. A user's
/// access token never equals it, so user tokens are refused there.
public struct ServiceTokenAuthenticator: Authenticator {
    let expected: Data

    public init(serviceToken: String) {
        expected = SecretToken.digest(serviceToken)
    }

    public func authenticate(_ request: Request, context: AppRequestContext) async throws -> ServiceCaller {
        guard let token = request.bearerToken else {
            throw Problem.unauthorized("Internal routes need the service token (Authorization: Bearer <service token>).")
        }
        guard SecretToken.matches(token, digest: expected) else {
            throw Problem.unauthorized("Internal routes accept only the service token; user tokens are refused here.")
        }
        return ServiceCaller()
    }
}
