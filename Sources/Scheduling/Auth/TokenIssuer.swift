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
    public static func newRefreshToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64URLEncoded
    }

    public static func hash(refreshToken: String) -> Data {
        Data(SHA256.hash(data: Data(refreshToken.utf8)))
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
