import Foundation
import Hummingbird

/// The request context of the CloudClass services, as the server makes it: who the peer is and
/// the request id. Handlers never see it; they get a `CallerContext` once the route's
/// authenticator has let the caller through.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    /// The address of the TCP peer (the gateway, for public traffic), if known.
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Ordinary JSON bodies are small; routes that take bulk uploads read their body themselves
    /// with their own limit.
    public static let bodyLimit = 1 << 20
    public var maxUploadSize: Int { Self.bodyLimit }
    public var responseEncoder: JSONEncoder { JSONEncoder.response }
}

extension JSONEncoder {
    /// One encoder for every response (Hummingbird makes one per request by default); encoding
    /// does not change its options, so sharing it is safe.
    nonisolated(unsafe) static let response: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// A handler's context: everything of the request's context plus the caller, proven before the
/// handler runs (never optional: a route that accepts users gets an `Identity`).
public struct CallerContext<Caller: CallerIdentity>: RequestContext {
    public typealias Source = Never
    public var coreContext: CoreRequestContextStorage
    public let caller: Caller
    public let requestID: String
    public let peerAddress: String?

    public init(source: Never) {
        switch source {}
    }

    init(_ context: AppRequestContext, caller: Caller) {
        self.coreContext = context.coreContext
        self.caller = caller
        self.requestID = context.requestID
        self.peerAddress = context.peerAddress
        for (key, value) in caller.logMetadata { logger[metadataKey: key] = value }
    }

    public var maxUploadSize: Int { AppRequestContext.bodyLimit }
    public var responseEncoder: JSONEncoder { JSONEncoder.response }
}
