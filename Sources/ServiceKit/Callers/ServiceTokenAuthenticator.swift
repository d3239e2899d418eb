import Crypto
import Foundation
import Hummingbird

/// The platform's service token: what other services present on `/internal/` routes. A user's
/// access token never equals it, so user tokens are refused there.
public struct ServiceTokenAuthenticator: Authenticator {
    let expected: [UInt8]

    public init(serviceToken: String) {
        expected = Array(SHA256.hash(data: Data(serviceToken.utf8)))
    }

    public func authenticate(_ request: Request, context: AppRequestContext) async throws -> ServiceCaller {
        guard let token = request.bearerToken else {
            throw Problem.unauthorized("Internal routes need the service token (Authorization: Bearer <service token>).")
        }
        // Hashes compared in constant time: neither the token's length nor its prefix leaks.
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        guard zip(presented, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw Problem.unauthorized("Internal routes accept only the service token; user tokens are refused here.")
        }
        return ServiceCaller()
    }
}
