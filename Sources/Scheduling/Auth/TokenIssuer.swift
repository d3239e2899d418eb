import Crypto
import Foundation
import JWTKit
import ServiceKit

/// Mints access tokens (ES256; only this service holds the private key) and refresh tokens.
public struct TokenIssuer: Sendable {
    let keys: JWTKeyCollection
    let accessTokenLifetime: TimeInterval

    public init(privateKeyPEM: String, accessTokenLifetime: TimeInterval) async throws {
        let key = try ES256PrivateKey(pem: privateKeyPEM)
        self.keys = JWTKeyCollection()
        self.accessTokenLifetime = accessTokenLifetime
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
    }

    public func accessToken(userID: UUID, role: Role, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let claims = AccessTokenClaims(userID: userID, role: role, issuedAt: now, lifetime: accessTokenLifetime)
        let token = try await keys.sign(claims, kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
        return (token, claims.exp.value)
    }

    /// A new refresh token: 32 random bytes, base64url. Only its hash is stored.
    public static func newRefreshToken() -> String { SecretToken.random() }

    public static func hash(refreshToken: String) -> Data { SecretToken.digest(refreshToken) }
}
