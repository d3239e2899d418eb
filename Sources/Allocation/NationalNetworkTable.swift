import Reference

/// The national `cidr,network,region` table, built from the real prefix lists: which operator
/// announces an address (`china-operator-ip`) crossed with which province it is in
/// (`china-province-ip`, IPv4 only).
///
/// Rules, in the order they apply:
/// 1. The same prefix announced by two operators goes to the first of `operatorOrder` (CERNET,
///    Mobile, Unicom, Telecom: the narrower networks first, since a shared announcement is most
///    often a smaller network's space carried by a larger one). Counted in `sharedByOperators`.
/// 2. The same prefix listed by two provinces goes to the lower region code. Counted in
///    `sharedByProvinces`.
/// 3. An operator's prefix gets the region of the narrowest province prefix holding it (an equal
///    one included), or none (a network-only row) when no province lists it.
/// 4. A province prefix inside an operator's prefix becomes its own row, with the network of the
///    narrowest operator prefix holding it (longest match wins at lookup, so it refines the
///    operator's row). Counted in `provinceRowsInsideOperators`.
/// 5. IPv6 prefixes are network-only (the province lists have none).
public enum NationalNetworkTable {
    public static let operatorOrder: [Network] = [.cernet, .mobile, .unicom, .telecom]

    public struct Report: Sendable, Equatable {
        public var rows = 0
        public var networkOnlyRows = 0
        public var sharedByOperators = 0
        public var sharedByProvinces = 0
        public var provinceRowsInsideOperators = 0
    }

    /// - Parameters:
    ///   - operators: each network's prefix lists (IPv4 and IPv6 text, one CIDR a line).
    ///   - provinces: each region code's IPv4 prefix list.
    public static func build(operators: [Network: [String]], provinces: [String: String]) -> (map: NetworkMap, report: Report) {
        var report = Report()
        // Rule 1: one operator per prefix.
        var operatorOf: [IPPrefix: Network] = [:]
        for network in operatorOrder {
            for text in operators[network] ?? [] {
                for line in text.split(whereSeparator: \.isNewline) {
                    guard let prefix = IPPrefix(line) else { continue }
                    if operatorOf[prefix] != nil { report.sharedByOperators += 1 } else { operatorOf[prefix] = network }
                }
            }
        }
        // Rule 2: one province per prefix.
        var provinceOf: [IPPrefix: Int] = [:]
        for (index, region) in Region.all.enumerated() {
            for line in (provinces[region.code] ?? "").split(whereSeparator: \.isNewline) {
                guard let prefix = IPPrefix(line), prefix.isIPv4 else { continue }
                if provinceOf[prefix] != nil { report.sharedByProvinces += 1 } else { provinceOf[prefix] = index }
            }
        }
        // Tries for "the narrowest prefix holding this one" (the network is a placeholder).
        let provinceTrie = NetworkMap(entries: provinceOf.map { .init(prefix: $0.key, network: .telecom, region: $0.value) })
        let operatorTrie = NetworkMap(entries: operatorOf.map { .init(prefix: $0.key, network: $0.value, region: nil) })

        var rows: [IPPrefix: NetworkMap.Entry] = [:]
        for (prefix, network) in operatorOf {
            let region = prefix.isIPv4 ? provinceTrie.longestHolding(prefix)?.region : nil  // rules 3 and 5
            rows[prefix] = .init(prefix: prefix, network: network, region: region)
        }
        for (prefix, region) in provinceOf where rows[prefix] == nil {
            guard let holder = operatorTrie.longestHolding(prefix) else { continue }  // no operator: not a network we map
            rows[prefix] = .init(prefix: prefix, network: holder.network, region: region)  // rule 4
            report.provinceRowsInsideOperators += 1
        }
        let sorted = rows.values.sorted { a, b in
            if a.prefix.bytes.count != b.prefix.bytes.count { return a.prefix.bytes.count < b.prefix.bytes.count }
            if a.prefix.bytes != b.prefix.bytes { return a.prefix.bytes.lexicographicallyPrecedes(b.prefix.bytes) }
            return a.prefix.length < b.prefix.length
        }
        report.rows = sorted.count
        report.networkOnlyRows = sorted.filter { $0.region == nil }.count
        return (NetworkMap(entries: sorted), report)
    }
}

extension NetworkMap {
    /// The entry of the longest prefix that holds all of `prefix` (itself included).
    func longestHolding(_ prefix: IPPrefix) -> Entry? {
        lookup(prefix.bytes, upTo: prefix.length)
    }
}
