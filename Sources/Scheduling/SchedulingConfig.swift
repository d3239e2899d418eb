import Foundation
import ServiceKit

/// The scheduling service's settings, from the environment (see docs/operations.md).
public struct SchedulingConfig: Sendable {
    public var host: String
    public var port: Int
    /// The ES256 private key that signs access tokens (PEM). Only this service holds it.
    public var signingKeyPEM: String
    /// The secret other CloudClass services present on `/internal/` routes.
    public var serviceToken: String
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
    public var loginThrottle: LoginThrottle.Policy = .init()
    /// Failed sign-ins per client address: a whole school may sit behind one NAT address, so the
    /// budget is a school's, and it refills steadily.
    public var addressThrottle: LoginThrottle.Policy = .perAddress
    /// Peers whose `X-Forwarded-For` is believed: the gateway (`CLOUDCLASS_TRUSTED_PROXIES`).
    public var trustedProxies: Set<String> = ["127.0.0.1", "::1"]
    /// Where users reach the platform (the gateway): calendar URLs are built on it
    /// (`CLOUDCLASS_PUBLIC_URL`).
    public var publicURL = "http://127.0.0.1:8080"
    /// The zone calendar feeds show single lessons in (`CLOUDCLASS_TIMEZONE`).
    public var timeZone = TimeZone(identifier: "Asia/Shanghai")!
    /// Per-route request metrics (`CLOUDCLASS_REQUEST_METRICS=off` drops them; /metrics stays).
    public var requestMetrics = true

    public init(
        host: String = "127.0.0.1",
        port: Int = ServiceName.scheduling.defaultPort,
        signingKeyPEM: String,
        serviceToken: String,
        bcryptCost: Int = 12,
        bcryptWorkers: Int = ProcessInfo.processInfo.activeProcessorCount,
        bcryptQueueLimit: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.signingKeyPEM = signingKeyPEM
        self.serviceToken = serviceToken
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

    public static func fromEnvironment(_ env: ConfigReader = ConfigReader()) throws -> SchedulingConfig {
        guard let key = try env.secret("CLOUDCLASS_SIGNING_KEY") else { throw MissingSigningKey() }
        let serviceToken = try env.requiredSecret("CLOUDCLASS_SERVICE_TOKEN")
        let url = try env.url(ServiceName.scheduling.urlVariable, default: ServiceName.scheduling.defaultURL)
        var config = SchedulingConfig(
            host: url.host ?? "127.0.0.1",
            port: url.port ?? ServiceName.scheduling.defaultPort,
            signingKeyPEM: key,
            serviceToken: serviceToken
        )
        config.requestMetrics = env.string("CLOUDCLASS_REQUEST_METRICS") != "off"
        if let publicURL = env.string("CLOUDCLASS_PUBLIC_URL") {
            config.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        if let zone = env.string("CLOUDCLASS_TIMEZONE") {
            guard let timeZone = TimeZone(identifier: zone) else { throw ConfigReader.InvalidSetting(name: "CLOUDCLASS_TIMEZONE", value: zone, expected: "an IANA time zone such as Asia/Shanghai") }
            config.timeZone = timeZone
        }
        if let proxies = env.string("CLOUDCLASS_TRUSTED_PROXIES") {
            config.trustedProxies = Set(proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        config.bcryptCost = try env.int("CLOUDCLASS_BCRYPT_COST", default: 12, in: 4...31)
        config.bcryptWorkers = try env.int("CLOUDCLASS_BCRYPT_WORKERS", default: config.bcryptWorkers, in: 1...256)
        config.bcryptQueueLimit = try env.int("CLOUDCLASS_BCRYPT_QUEUE", default: 8 * config.bcryptWorkers, in: 0...100_000)
        return config
    }
}
