import Hummingbird

/// What every CloudClass service's request context carries beyond Hummingbird's core.
public protocol ServiceRequestContext: RequestContext {
    var identity: Identity? { get set }
    var requestID: String { get set }
}

/// The request context of the CloudClass services.
public struct AppRequestContext: ServiceRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    public var requestID: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.requestID = ""
    }

    /// Ordinary JSON bodies are small; routes that take bulk uploads read their body themselves
    /// with their own limit.
    public var maxUploadSize: Int { 1 << 20 }
}

extension ServiceRequestContext {
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
