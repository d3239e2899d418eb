import Allocation
import Foundation
import Synchronization

/// The network map in memory: where a viewer's address is (network, and region when known), by
/// longest prefix, on the join path without a query. Replaced whole when an administrator loads
/// a new table; a lookup sees the old table or the new, never half of each.
public final class ViewerNetworks: Sendable {
    private let map = Mutex(NetworkMap(entries: []))

    public init() {}

    public var current: NetworkMap { map.withLock { $0 } }

    func replace(with new: NetworkMap) {
        map.withLock { $0 = new }
    }

    public func locate(_ address: String) -> NetworkMap.Entry? {
        guard let bytes = IPPrefix.address(address) else { return nil }
        return map.withLock { $0.lookup(bytes) }
    }
}
