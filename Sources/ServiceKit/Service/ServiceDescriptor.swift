import Foundation
import Logging
import PostgresNIO
import Store

/// Everything the platform needs to know about a service to run it, route to it and give it its
/// secrets, without importing it: `serve` and `up` iterate over the descriptors.
public struct ServiceDescriptor: Sendable {
    /// A public path pattern the gateway sends to this service.
    public struct GatewayRoute: Sendable {
        /// An nginx regex, anchored; alternatives end in `(/|$)`.
        public var pattern: String
        /// The largest body the gateway passes on, when it is not the usual 1 MiB.
        public var maximumBodyBytes: Int?
        /// Server-sent events: the gateway neither buffers the answer nor times out reading it.
        public var streaming: Bool
        /// Tried after every other service's routes (the catch-all of `/api/v1/`).
        public var isFallback: Bool
        /// What the gateway's access log shows instead of the path, when the path itself is a
        /// credential (a calendar feed's token).
        public var loggedPath: String?

        public init(_ pattern: String, maximumBodyBytes: Int? = nil, streaming: Bool = false, isFallback: Bool = false, loggedPath: String? = nil) {
            self.pattern = pattern
            self.maximumBodyBytes = maximumBodyBytes
            self.streaming = streaming
            self.isFallback = isFallback
            self.loggedPath = loggedPath
        }
    }

    /// A secret a service needs. `up` makes each name once (0600) and hands it, as
    /// `<variable>_FILE`, only to the services that declare it; two services declaring the same
    /// name share it (the session-token key of broadcast and attendance).
    public struct Secret: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// 32 random letters and digits.
            case token
            /// An ES256 private key (PEM); `up` also writes its public half for every service.
            case accessTokenSigningKey
        }

        /// Its file name in the data folder's `secrets/`.
        public var name: String
        /// The environment variable it is read from (`ConfigReader.secret`).
        public var variable: String
        public var kind: Kind

        public init(name: String, variable: String, kind: Kind = .token) {
            self.name = name
            self.variable = variable
            self.kind = kind
        }
    }

    /// What demo seeding works with: a privileged connection pool on the migrated database, the
    /// deploy folder (`Deploy/`: reference data, templates) and the edges `up` runs.
    public struct DemoSeeding: Sendable {
        public var database: PostgresClient
        public var environment: ConfigReader
        public var logger: Logger
        public var deployFolder: URL
        public var edges: [DemoEdge]

        public init(database: PostgresClient, environment: ConfigReader, logger: Logger, deployFolder: URL, edges: [DemoEdge] = []) {
            self.database = database
            self.environment = environment
            self.logger = logger
            self.deployFolder = deployFolder
            self.edges = edges
        }
    }

    /// An edge `up --demo` runs on this machine (nginx and its agent), for the fleet to know.
    public struct DemoEdge: Sendable, Equatable {
        public var id: UUID
        public var name: String
        public var baseURL: String
        public var network: Network
        public var region: String
        public var capacityMbps: Double
        public var reportToken: String

        public init(id: UUID, name: String, baseURL: String, network: Network, region: String, capacityMbps: Double, reportToken: String) {
            self.id = id
            self.name = name
            self.baseURL = baseURL
            self.network = network
            self.region = region
            self.capacityMbps = capacityMbps
            self.reportToken = reportToken
        }
    }

    public var name: ServiceName
    /// Its role, schema and extensions; its SQL is `Migrations/<name>/NNNN_name.sql`.
    public var schema: ServiceSchema
    public var gatewayRoutes: [GatewayRoute]
    public var secrets: [Secret]
    /// The kinds of outbox message it takes from other services (e.g. `lesson.changed`).
    public var subscriptions: [String]
    /// Builds the service from the shared settings, its own environment and its database pool.
    public var make: @Sendable (ServiceSettings, ConfigReader, Database) async throws -> any CloudClassService
    /// Seeds the demo (`up --demo`); seeding twice changes nothing.
    public var seedDemo: (@Sendable (DemoSeeding) async throws -> Void)?
    /// Lines `up --demo` prints about the demo (`{gateway}` stands for its address).
    public var demoSummary: [String]

    public init(
        name: ServiceName,
        schema: ServiceSchema? = nil,
        gatewayRoutes: [GatewayRoute],
        secrets: [Secret] = [],
        subscriptions: [String] = [],
        make: @escaping @Sendable (ServiceSettings, ConfigReader, Database) async throws -> any CloudClassService,
        seedDemo: (@Sendable (DemoSeeding) async throws -> Void)? = nil,
        demoSummary: [String] = []
    ) {
        self.demoSummary = demoSummary
        self.name = name
        self.schema = schema ?? ServiceSchema(service: name.rawValue)
        self.gatewayRoutes = gatewayRoutes
        self.secrets = secrets
        self.subscriptions = subscriptions
        self.make = make
        self.seedDemo = seedDemo
    }

    /// The secrets every process gets (the service token), whatever it declares.
    public static let sharedSecrets = [Secret(name: "service-token", variable: "CLOUDCLASS_SERVICE_TOKEN")]
    /// The access-token public key every process gets from `up`.
    public static let publicKeyVariable = "CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY"
}

extension ServiceDescriptor.Secret {
    /// The key session tokens are signed with: broadcast mints them at join, attendance checks
    /// them on every beat. Both declare it, so `up` gives both the same one.
    public static let sessionTokenKey = ServiceDescriptor.Secret(name: "session-token-key", variable: "CLOUDCLASS_SESSION_TOKEN_KEY")
    /// The key playback URLs are signed with and the edges' nginx checks (`secure_link`):
    /// broadcast signs the join's URL, attendance a move's.
    public static let playbackSigningKey = ServiceDescriptor.Secret(name: "playback-signing-key", variable: "CLOUDCLASS_PLAYBACK_SIGNING_KEY")
}
