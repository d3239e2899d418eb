import Hummingbird

/// A user's ES256 access token, checked with the public key, of a user not deactivated since;
/// optionally one of some roles.
public struct UserTokenAuthenticator: Authenticator {
    let verifier: AccessTokenVerifier
    let deactivated: DeactivatedUsers
    let roles: [Role]?

    public func authenticate(_ request: Request, context: AppRequestContext) async throws -> Identity {
        guard request.headers[.authorization] != nil else {
            throw Problem.unauthorized("This route needs a bearer access token.")
        }
        guard let token = request.bearerToken else {
            throw Problem.unauthorized("The Authorization header must be `Bearer <access token>`.")
        }
        let identity = try await verifier.identity(fromToken: token)
        if deactivated.contains(identity.userID) {
            throw Problem.unauthorized("This account is deactivated; ask your school's administrator.")
        }
        if let roles, !roles.contains(identity.role) {
            let names = roles.map(\.rawValue).joined(separator: " or ")
            throw Problem.forbidden("This route is for \(names) accounts; you are signed in as \(identity.role.rawValue).")
        }
        return identity
    }
}
