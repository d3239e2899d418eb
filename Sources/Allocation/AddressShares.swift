import Foundation
import Reference

/// How each region's IPv4 addresses divide among the operator networks, from the real prefix
/// lists (`Deploy/data/`): the operators' announced prefixes intersected with the provinces'
/// prefixes, counted in addresses. A simulated morning spreads each province's viewers over the
/// networks by these shares. Addresses are not pupils, but they are what the operators serve.
public struct AddressShares: Sendable {
    /// Per region (index into `Region.all`), per network (`Network.allCases`), a share summing to 1.
    public var shares: [[Double]]
    /// Addresses counted per region and network.
    public var addresses: [[UInt64]]

    /// - Parameters:
    ///   - operators: each network's prefix list, one CIDR a line (IPv6 lines are skipped).
    ///   - provinces: each region code's prefix list, the same way.
    public init(operators: [Network: String], provinces: [String: String]) {
        let networkRanges = Network.allCases.map { Self.ranges(operators[$0] ?? "") }
        var addresses = Array(repeating: Array(repeating: UInt64(0), count: Network.allCases.count), count: Region.all.count)
        for (regionIndex, region) in Region.all.enumerated() {
            let provinceRanges = Self.ranges(provinces[region.code] ?? "")
            for (networkIndex, ranges) in networkRanges.enumerated() {
                addresses[regionIndex][networkIndex] = Self.overlap(provinceRanges, ranges)
            }
        }
        // A province its list says nothing about gets the national shares.
        let national = Network.allCases.indices.map { network in Double(networkRanges[network].reduce(UInt64(0)) { $0 + $1.upperBound - $1.lowerBound }) }
        self.addresses = addresses
        shares = addresses.map { counts in
            let total = counts.reduce(0, +)
            if total == 0 { return national.map { $0 / national.reduce(0, +) } }
            return counts.map { Double($0) / Double(total) }
        }
    }

    /// Sorted, merged half-open ranges of the IPv4 prefixes in `text`.
    static func ranges(_ text: String) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for line in text.split(whereSeparator: \.isNewline) {
            guard let prefix = IPv4Prefix(line.trimmingCharacters(in: .whitespaces)) else { continue }
            ranges.append(prefix.range)
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Addresses in both sorted, merged lists.
    static func overlap(_ a: [Range<UInt64>], _ b: [Range<UInt64>]) -> UInt64 {
        var i = 0, j = 0
        var total: UInt64 = 0
        while i < a.count && j < b.count {
            let low = max(a[i].lowerBound, b[j].lowerBound)
            let high = min(a[i].upperBound, b[j].upperBound)
            if low < high { total += high - low }
            if a[i].upperBound < b[j].upperBound { i += 1 } else { j += 1 }
        }
        return total
    }
}

/// An IPv4 prefix such as `1.12.16.0/20`.
public struct IPv4Prefix: Sendable, Hashable {
    public var address: UInt32
    public var length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let length = Int(parts[1]), (0...32).contains(length) else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var address: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let value = UInt32(octet), value <= 255 else { return nil }
            address = address << 8 | value
        }
        let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
        guard address & ~mask == 0 else { return nil }
        self.address = address
        self.length = length
    }

    public var range: Range<UInt64> {
        UInt64(address)..<(UInt64(address) + (UInt64(1) << (32 - length)))
    }
}
