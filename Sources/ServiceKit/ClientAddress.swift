import Foundation
import HTTPTypes
import Hummingbird

/// Who the client is, network-wise: the peer's address, or, when the peer is a trusted proxy
/// (the gateway), the address the proxy names in `X-Forwarded-For`. The gateway sets that header
/// to its own peer's address, replacing whatever the client sent; from anyone else it is ignored,
/// so a client cannot choose the address it is counted under.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: Set<String>

    public init(trustedProxies: Set<String>) {
        self.trustedProxies = trustedProxies
    }

    public func address(of request: Request, peer: String?) -> String {
        guard let peer else { return "unknown" }
        guard trustedProxies.contains(peer), let forwarded = request.headers[.xForwardedFor] else { return peer }
        // A proxy appends; the last entry is the one the trusted proxy saw.
        let last = forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return last.isEmpty || last.count > 64 ? peer : last
    }
}

extension HTTPField.Name {
    public static let xForwardedFor = Self("X-Forwarded-For")!
}
