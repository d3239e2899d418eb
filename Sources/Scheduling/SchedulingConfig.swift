import Foundation
import ServiceKit

/// The scheduling service's settings, from the environment (see docs/operations.md).
public struct SchedulingConfig: Sendable {
    /// What every service shares: address, service token, proxies, metrics, pool, public URL
    /// (calendar URLs are built on it).
    public var service: ServiceSettings
    /// The ES256 private key that signs access tokens (PEM). Only this service holds it.
    public var signingKeyPEM: String
    /// bcrypt's cost factor for new hashes (verification uses each hash's own).
    public var bcryptCost: Int
    /// Threads that run bcrypt, off the event loops.
    public var bcryptWorkers: Int
    /// Password checks that may wait for a worker before logins are answered 503.
    public var bcryptQueueLimit: Int
    public var accessTokenLifetime: TimeInterval = 12 * 3600
    public var refreshTokenLifetime: TimeInterval = 30 * 24 * 3600
    /// A spent refresh token presented again within this many seconds is taken for the same
    /// client refreshing twice at once (two tabs) and refused without ending the sign-in; later
    /// it is taken for theft and ends the whole login family.
    public var refreshReuseGrace: TimeInterval = 10
    /// Failed sign-ins per username and client address: the guesser's own budget.
    public var loginThrottle: LoginThrottle.Policy = .init()
    /// Failed sign-ins per username from anywhere: a ceiling against spread-out guessing.
    public var usernameThrottle: LoginThrottle.Policy = .perUsername
    /// Failed sign-ins per client address: a whole school may sit behind one NAT address, so the
    /// budget is a school's, and it refills steadily.
    public var addressThrottle: LoginThrottle.Policy = .perAddress
    /// The zone calendar feeds show single lessons in (`CLOUDCLASS_TIMEZONE`).
    public var timeZone = TimeZone(identifier: "Asia/Shanghai")!
    /// Runs inside an enrolment's transaction just before it commits. A seam for tests that
    /// force two transactions to interleave there (a barrier); nothing else sets it.
    public var beforeEnrollmentCommits: @Sendable () async -> Void = {}

    /// - Parameter service: its public key is replaced by the one of `signingKeyPEM`: this service
    ///   must check the tokens it signs.
    public init(
        service: ServiceSettings,
        signingKeyPEM: String,
        bcryptCost: Int = 12,
        bcryptWorkers: Int = ProcessInfo.processInfo.activeProcessorCount,
        bcryptQueueLimit: Int? = nil
    ) throws {
        self.service = service
        self.service.accessTokenPublicKeyPEM = try AccessTokenKeys.publicKeyPEM(ofSigningKey: signingKeyPEM)
        self.signingKeyPEM = signingKeyPEM
        self.bcryptCost = bcryptCost
        self.bcryptWorkers = bcryptWorkers
        // Eight waiting checks per worker keeps a queued login under ~2 s at cost 12 (measured:
        // 64 waiting on 2 cores meant 10 s waits for the same throughput).
        self.bcryptQueueLimit = bcryptQueueLimit ?? 8 * bcryptWorkers
    }

    public struct MissingSigningKey: Error, CustomStringConvertible {
        public var description: String {
            "The scheduling service needs its ES256 signing key: set CLOUDCLASS_SIGNING_KEY_FILE (PEM), or run `cloudclass up`, which makes one."
        }
    }

    /// The signing key, declared as this service's secret.
    static let signingKey = ServiceDescriptor.Secret(name: "signing-key.pem", variable: "CLOUDCLASS_SIGNING_KEY", kind: .accessTokenSigningKey)

    public static func fromEnvironment(_ env: ConfigReader = ConfigReader(), service: ServiceSettings) throws -> SchedulingConfig {
        guard let key = try env.secret(signingKey.variable) else { throw MissingSigningKey() }
        var config = try SchedulingConfig(service: service, signingKeyPEM: key)
        if let zone = env.string("CLOUDCLASS_TIMEZONE") {
            guard let timeZone = TimeZone(identifier: zone) else { throw ConfigReader.InvalidSetting(name: "CLOUDCLASS_TIMEZONE", value: zone, expected: "an IANA time zone such as Asia/Shanghai") }
            config.timeZone = timeZone
        }
        config.bcryptCost = try env.int("CLOUDCLASS_BCRYPT_COST", default: 12, in: 4...31)
        config.bcryptWorkers = try env.int("CLOUDCLASS_BCRYPT_WORKERS", default: config.bcryptWorkers, in: 1...256)
        config.bcryptQueueLimit = try env.int("CLOUDCLASS_BCRYPT_QUEUE", default: 8 * config.bcryptWorkers, in: 0...100_000)
        return config
    }
}
