import Foundation
import JWTKit
import Synchronization

/// The claims of a CloudClass access token (ES256, signed by the scheduling service alone).
public struct AccessTokenClaims: JWTPayload, Equatable {
    public static let issuer = "cloudclass-scheduling"
    public static let audience = "cloudclass-api"

    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim?
    public var role: Role

    /// - Parameter issuedAt: rounded down to a whole second, as JWT's NumericDate is.
    public init(userID: UUID, role: Role, issuedAt: Date, lifetime: TimeInterval) {
        let issuedAt = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        self.iss = IssuerClaim(value: Self.issuer)
        self.aud = AudienceClaim(value: Self.audience)
        self.sub = SubjectClaim(value: userID.lowercased)
        self.exp = ExpirationClaim(value: issuedAt.addingTimeInterval(lifetime))
        self.iat = IssuedAtClaim(value: issuedAt)
        self.role = role
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: Self.audience)
        guard iss.value == Self.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unexpected issuer")
        }
    }
}

/// Checks access tokens with the scheduling service's public key; every service holds one.
public struct AccessTokenVerifier: Sendable {
    /// The key id every token carries; a rotated key gets a new one.
    public static let keyID = "cloudclass-es256-1"
    let keys: JWTKeyCollection
    let verified = VerifiedTokens()

    public init(publicKeyPEM: String) async throws {
        let key = try ES256PublicKey(pem: publicKeyPEM)
        self.keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: Self.keyID))
    }

    /// The identity a token proves, or 401 saying why not. A token verified once is remembered
    /// until it expires: the same bytes prove the same claims (API.md allows the cache), and an
    /// ES256 check costs more than the rest of a small request.
    public func identity(fromToken token: String) async throws -> Identity {
        let now = Date()
        if let identity = verified.identity(of: token, at: now) { return identity }
        let identity = try await verify(token)
        verified.remember(token, identity.identity, until: identity.expires, at: now)
        return identity.identity
    }

    private func verify(_ token: String) async throws -> (identity: Identity, expires: Date) {
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            let reason = error.reason ?? "a claim is not valid"
            throw Problem.unauthorized("The access token is not valid: \(reason).")
        } catch {
            throw Problem.unauthorized("The access token is not valid (bad signature or malformed).")
        }
        guard let userID = UUID(uuidString: claims.sub.value) else {
            throw Problem.unauthorized("The access token names no user.")
        }
        return (Identity(userID: userID, role: claims.role), claims.exp.value)
    }
}

/// Tokens already verified, with their identity and expiry. Bounded: when full, the expired go,
/// and if that is not enough everything goes (a miss costs one signature check).
final class VerifiedTokens: Sendable {
    static let capacity = 50_000
    private let entries = Mutex<[String: (identity: Identity, expires: Date)]>([:])

    func identity(of token: String, at now: Date) -> Identity? {
        entries.withLock { entries in
            guard let entry = entries[token], entry.expires > now else { return nil }
            return entry.identity
        }
    }

    func remember(_ token: String, _ identity: Identity, until expires: Date, at now: Date) {
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = (identity, expires)
        }
    }
}
