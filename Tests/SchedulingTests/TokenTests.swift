import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Scheduling
import ServiceKit
import TestSupport
import Testing

@Suite struct TokenTests {
    /// A payload like an access token but with any audience and issuer.
    struct LooseClaims: JWTPayload {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var role: String
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func sign(_ claims: some JWTPayload, keyPEM: String = TestApp.signingKeyPEM) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: try ES256PrivateKey(pem: keyPEM), kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
        return try await keys.sign(claims, kid: JWKIdentifier(string: AccessTokenVerifier.keyID))
    }

    func claims(user: UUID, audience: String = AccessTokenClaims.audience, expires: Date = Date().addingTimeInterval(600)) -> LooseClaims {
        LooseClaims(
            iss: IssuerClaim(value: AccessTokenClaims.issuer), aud: AudienceClaim(value: audience),
            sub: SubjectClaim(value: user.uuidString), exp: ExpirationClaim(value: expires), role: "admin"
        )
    }

    @Test func aWellSignedTokenIsAccepted() async throws {
        let app = try await TestApp.make()
        let id = try await app.addUser("root", role: .admin)
        let token = try await sign(claims(user: id))
        try await app.test { client async throws in
            #expect(try await client.json(.get, "/api/v1/me", token: token).status == .ok)
        }
    }

    @Test func expiredForgedAndWrongAudienceTokensAre401() async throws {
        let app = try await TestApp.make()
        let id = try await app.addUser("root", role: .admin)
        let expired = try await sign(claims(user: id, expires: Date().addingTimeInterval(-60)))
        let wrongAudience = try await sign(claims(user: id, audience: "cloudclass-internal"))
        let forged = try await sign(claims(user: id), keyPEM: AccessTokenKeys.newSigningKeyPEM())
        let garbage = "not.a.jwt"
        try await app.test { client async throws in
            for (name, token) in [("expired", expired), ("wrong audience", wrongAudience), ("forged", forged), ("garbage", garbage)] {
                let response = try await client.json(.get, "/api/v1/me", token: token)
                #expect(response.status == .unauthorized, "\(name)")
                #expect(try response.problem().status == 401, "\(name)")
                #expect(response.headers[.wwwAuthenticate] == "Bearer", "\(name)")
            }
            let notBearer = try await client.json(.get, "/api/v1/me", headers: [.authorization: "Basic YWRtaW46eA=="])
            #expect(notBearer.status == .unauthorized)
        }
    }

    /// Verified tokens are remembered until they expire, and no longer: a token used a moment
    /// ago is refused once its time is up.
    @Test func aRememberedTokenStillExpires() async throws {
        let app = try await TestApp.make()
        let id = try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            // Made here, not before the service starts: a loaded machine may take seconds to start it.
            // Long enough for the checks below on a loaded machine; the wait is until it ends.
            let lifetime = 10.0
            let madeAt = ContinuousClock.now
            let token = try await TestKeys.accessToken(user: id, role: .admin, lifetime: lifetime)
            #expect(try await client.json(.get, "/api/v1/me", token: token).status == .ok)
            #expect(try await client.json(.get, "/api/v1/me", token: token).status == .ok)
            // A token that differs by one byte from a remembered one is checked afresh.
            var tampered = Array(token.utf8)
            tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(try await client.json(.get, "/api/v1/me", token: String(decoding: tampered, as: UTF8.self)).status == .unauthorized)
            try await Task.sleep(until: madeAt + .seconds(lifetime + 0.6))
            let late = try await client.json(.get, "/api/v1/me", token: token)
            #expect(late.status == .unauthorized)
        }
    }

    @Test func aMissingTokenIs401AndTheWrongRoleIs403() async throws {
        let app = try await TestApp.make()
        try await app.addUser("pupil", role: .student)
        try await app.test { client async throws in
            #expect(try await client.json(.get, "/api/v1/me").status == .unauthorized)
            let token = try await client.token("pupil")
            let forbidden = try await client.json(.get, "/api/v1/schools", token: token)
            #expect(forbidden.status == .forbidden)
            #expect(try forbidden.problem().detail.contains("admin"))
        }
    }

    @Test func aTokenForAUserThatNoLongerExistsIs401() async throws {
        let app = try await TestApp.make()
        let token = try await sign(claims(user: UUID()))
        try await app.test { client async throws in
            #expect(try await client.json(.get, "/api/v1/me", token: token).status == .unauthorized)
        }
    }
}
