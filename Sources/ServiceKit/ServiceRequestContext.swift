import Hummingbird

/// What every CloudClass service's request context carries beyond Hummingbird's core.
public protocol ServiceRequestContext: RequestContext {
    var identity: Identity? { get set }
    var requestID: String { get set }
    /// True when the caller proved it is a CloudClass service (internal routes only).
    var isServiceCaller: Bool { get set }
    /// The address of the TCP peer (the gateway, for public traffic), if known.
    var peerAddress: String? { get }
}

/// The request context of the CloudClass services.
public struct AppRequestContext: ServiceRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    public var requestID: String
    public var isServiceCaller: Bool
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.requestID = ""
        self.isServiceCaller = false
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Ordinary JSON bodies are small; routes that take bulk uploads read their body themselves
    /// with their own limit.
    public var maxUploadSize: Int { 1 << 20 }
}

extension ServiceRequestContext {
    /// For internal routes: the caller is a service, or 401.
    public func requireServiceCaller() throws {
        guard isServiceCaller else { throw Problem.unauthorized("This route is for CloudClass services only.") }
    }

    /// The signed-in caller, or 401.
    public func requireIdentity() throws -> Identity {
        guard let identity else {
            throw Problem.unauthorized("This route needs a bearer access token.")
        }
        return identity
    }

    /// The signed-in caller holding one of `roles`, or 401/403.
    public func requireRole(_ roles: Role...) throws -> Identity {
        let identity = try requireIdentity()
        guard roles.contains(identity.role) else {
            let names = roles.map(\.rawValue).joined(separator: " or ")
            throw Problem.forbidden("This route is for \(names) accounts; you are signed in as \(identity.role.rawValue).")
        }
        return identity
    }
}
