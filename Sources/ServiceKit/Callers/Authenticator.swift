import Hummingbird
import Logging

/// Proves who is calling from a request, before any handler runs: returns the caller, or throws
/// the problem (401, 403) that says why not. Services register their own (a session capability,
/// an edge's report token, a secret in a callback's path) beside the kit's.
public protocol Authenticator<Caller>: Sendable {
    associatedtype Caller: CallerIdentity
    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Caller
}

/// What a handler knows about its caller once an authenticator let it through.
public protocol CallerIdentity: Sendable {
    /// Added to every log line of the request (e.g. `user_id`).
    var logMetadata: Logger.Metadata { get }
}

extension CallerIdentity {
    public var logMetadata: Logger.Metadata { [:] }
}

/// The caller of an open route: nothing was checked, so nothing is known.
public struct Anyone: CallerIdentity {}

/// A CloudClass service that presented the service token.
public struct ServiceCaller: CallerIdentity {}

extension Identity: CallerIdentity {
    public var logMetadata: Logger.Metadata { ["user_id": .string(userID.lowercased)] }
}

/// Which callers a route accepts. Every route declares one when it is registered; there is no
/// route without a check, and an open route says so (`.anyone`).
public struct Callers<Caller: CallerIdentity>: Sendable {
    /// How the route table lists it (`open`, `users(admin)`, `services`, …).
    public let name: String
    let authenticator: @Sendable (CallerKeys) -> any Authenticator<Caller>

    /// Callers proven by a service's own authenticator.
    public static func custom(_ name: String, _ authenticator: some Authenticator<Caller>) -> Callers {
        Callers(name: name) { _ in authenticator }
    }
}

/// What the kit's own authenticators check against.
public struct CallerKeys: Sendable {
    public let accessTokens: AccessTokenVerifier
    public let serviceToken: ServiceTokenAuthenticator
    /// Users whose still-unexpired access tokens are refused.
    public let deactivated: DeactivatedUsers

    public init(accessTokens: AccessTokenVerifier, serviceToken: String, deactivated: DeactivatedUsers) {
        self.accessTokens = accessTokens
        self.serviceToken = ServiceTokenAuthenticator(serviceToken: serviceToken)
        self.deactivated = deactivated
    }
}

extension Callers where Caller == Anyone {
    /// An open route: anyone, whatever headers they send (a stale token included).
    public static var anyone: Callers {
        Callers(name: "open") { _ in OpenAuthenticator() }
    }
}

extension Callers where Caller == Identity {
    /// Any signed-in user (a valid access token).
    public static var signedIn: Callers {
        Callers(name: "users") { UserTokenAuthenticator(verifier: $0.accessTokens, deactivated: $0.deactivated, roles: nil) }
    }

    /// Signed-in users holding one of `roles`; others are 403.
    public static func users(_ roles: Role...) -> Callers {
        Callers(name: "users(\(roles.map(\.rawValue).joined(separator: ",")))") {
            UserTokenAuthenticator(verifier: $0.accessTokens, deactivated: $0.deactivated, roles: roles)
        }
    }
}

extension Callers where Caller == ServiceCaller {
    /// Other CloudClass services (the service token); the only callers of `/internal/`.
    public static var services: Callers {
        Callers(name: "services") { $0.serviceToken }
    }
}

struct OpenAuthenticator: Authenticator {
    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Anyone { Anyone() }
}

extension Request {
    /// The token of `Authorization: Bearer <token>`, nil when the header is absent or another scheme.
    /// Read on every signed-in request, so it works on the UTF-8 bytes (Foundation's trimming
    /// went through UTF-16 and was 9% of a `/me`).
    public var bearerToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let bytes = header.utf8
        let scheme = "bearer".utf8
        guard bytes.count > scheme.count + 1 else { return nil }
        for (byte, expected) in zip(bytes, scheme) where byte | 0x20 != expected { return nil }
        let rest = bytes.dropFirst(scheme.count)
        guard rest.first == UInt8(ascii: " ") else { return nil }
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let start = rest.firstIndex(where: { !isBlank($0) }), let end = rest.lastIndex(where: { !isBlank($0) }) else { return nil }
        return String(Substring(header.utf8[start...end]))
    }
}
