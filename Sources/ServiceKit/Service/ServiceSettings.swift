import Foundation

/// The settings every CloudClass service shares, read from the environment the same way for
/// each (see docs/operations.md); a service's own settings sit beside these in its config.
public struct ServiceSettings: Sendable {
    public var service: ServiceName
    public var host: String
    public var port: Int
    /// The secret services present to each other on `/internal/` routes.
    public var serviceToken: String
    /// The scheduling service's ES256 public key (PEM): every service checks access tokens with
    /// it; only scheduling holds the private half.
    public var accessTokenPublicKeyPEM: String
    /// Peers whose `X-Forwarded-For` is believed: the gateway (`CLOUDCLASS_TRUSTED_PROXIES`).
    public var trustedProxies: Set<String> = ["127.0.0.1", "::1"]
    /// Per-route request metrics (`CLOUDCLASS_REQUEST_METRICS=off` drops them; /metrics stays).
    public var requestMetrics = true
    /// PostgreSQL connections of this process (`CLOUDCLASS_DB_POOL`).
    public var databasePoolSize = 20
    /// Where users reach the platform (the gateway); links are built on it (`CLOUDCLASS_PUBLIC_URL`).
    public var publicURL = "http://127.0.0.1:8080"
    /// Where the other services are (`CLOUDCLASS_<SERVICE>_URL`, else their default addresses).
    public var peers: [ServiceName: URL] = Dictionary(uniqueKeysWithValues: ServiceName.allCases.map { ($0, URL(string: $0.defaultURL)!) })
    /// Which services take each kind of outbox message this one sends (from the catalog).
    public var subscribers: [String: [ServiceName]] = [:]

    public init(service: ServiceName, host: String = "127.0.0.1", port: Int? = nil, serviceToken: String, accessTokenPublicKeyPEM: String) {
        self.service = service
        self.host = host
        self.port = port ?? service.defaultPort
        self.serviceToken = serviceToken
        self.accessTokenPublicKeyPEM = accessTokenPublicKeyPEM
    }

    public struct MissingPublicKey: Error, CustomStringConvertible {
        public var service: ServiceName
        public var description: String {
            "The \(service.rawValue) service checks access tokens with the scheduling service's public key: set "
                + "CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY_FILE (PEM), or run `cloudclass up`, which writes one."
        }
    }

    /// The settings of `service` from the environment. The public key comes from
    /// `CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY(_FILE)`, or, for the one service holding it, is derived
    /// from the signing key `CLOUDCLASS_SIGNING_KEY(_FILE)`.
    public static func fromEnvironment(_ env: ConfigReader, service: ServiceName) throws -> ServiceSettings {
        let url = try env.url(service.urlVariable, default: service.defaultURL)
        let publicKey: String
        if let pem = try env.secret("CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY") {
            publicKey = pem
        } else if let signingKey = try env.secret("CLOUDCLASS_SIGNING_KEY") {
            publicKey = try AccessTokenKeys.publicKeyPEM(ofSigningKey: signingKey)
        } else {
            throw MissingPublicKey(service: service)
        }
        var settings = ServiceSettings(
            service: service, host: url.host ?? "127.0.0.1", port: url.port ?? service.defaultPort,
            serviceToken: try env.requiredSecret("CLOUDCLASS_SERVICE_TOKEN"), accessTokenPublicKeyPEM: publicKey
        )
        settings.requestMetrics = env.string("CLOUDCLASS_REQUEST_METRICS") != "off"
        settings.databasePoolSize = try env.int("CLOUDCLASS_DB_POOL", default: 20, in: 1...500)
        if let publicURL = env.string("CLOUDCLASS_PUBLIC_URL") {
            settings.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        for peer in ServiceName.allCases {
            settings.peers[peer] = try env.url(peer.urlVariable, default: peer.defaultURL)
        }
        if let proxies = env.string("CLOUDCLASS_TRUSTED_PROXIES") {
            settings.trustedProxies = Set(proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        return settings
    }
}
