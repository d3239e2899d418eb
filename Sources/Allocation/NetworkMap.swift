import Foundation
import Reference

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 prefix: the address's leading bits and how many of them count.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network byte order; bits past `length` are zero.
    public var bytes: [UInt8]
    public var length: Int
    public var isIPv4: Bool { bytes.count == 4 }

    /// `1.12.16.0/20`, `240e::/20`; nil when malformed or when bits past the length are set.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let length = Int(parts[1]), let bytes = Self.address(parts[0]) else { return nil }
        guard (0...(bytes.count * 8)).contains(length) else { return nil }
        for bit in length..<(bytes.count * 8) where bytes[bit / 8] & (0x80 >> (bit % 8)) != 0 { return nil }
        self.bytes = bytes
        self.length = length
    }

    /// The bytes of an IPv4 or IPv6 address, or nil.
    public static func address(_ text: some StringProtocol) -> [UInt8]? {
        let string = String(text)
        guard string.utf8.count <= 45, !string.isEmpty else { return nil }
        if string.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, string, &address) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = in_addr()
        guard inet_pton(AF_INET, string, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    func bit(_ index: Int) -> Int { Int(bytes[index / 8] >> (7 - index % 8)) & 1 }

    /// Whether `other` lies within this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        guard other.bytes.count == bytes.count, other.length >= length else { return false }
        return (0..<length).allSatisfy { bit($0) == other.bit($0) }
    }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") + "/\(length)" }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(length)"
    }
}

/// Where a viewer is: their network and (when known) region, from their address, by the
/// longest matching prefix of an administrator's table — real data nests (a CERNET /16 holds
/// Telecom /24s). Lookups walk a binary trie in memory: at most 32 (IPv4) or 128 (IPv6) steps,
/// never a query per join.
public struct NetworkMap: Sendable {
    public struct Entry: Sendable, Hashable {
        public var prefix: IPPrefix
        public var network: Network
        /// An index into `Region.all`; nil for a network-only row.
        public var region: Int?

        public init(prefix: IPPrefix, network: Network, region: Int?) {
            self.prefix = prefix
            self.network = network
            self.region = region
        }
    }

    /// One invalid row of a table, by its spreadsheet row number (the header is row 1).
    public struct RowError: Sendable, Equatable {
        public var row: Int
        public var field: String
        public var message: String
    }

    /// A table refused: every bad row.
    public struct InvalidRows: Error, Sendable, Equatable {
        public var rows: [RowError]
    }

    struct Node {
        var children: (Int32, Int32) = (-1, -1)
        var entry: Int32 = -1
    }

    public let entries: [Entry]
    private let v4: [Node]
    private let v6: [Node]

    public init(entries: [Entry]) {
        self.entries = entries
        var v4 = [Node()], v6 = [Node()]
        for (index, entry) in entries.enumerated() {
            if entry.prefix.isIPv4 { Self.insert(entry.prefix, index, into: &v4) } else { Self.insert(entry.prefix, index, into: &v6) }
        }
        self.v4 = v4
        self.v6 = v6
    }

    private static func insert(_ prefix: IPPrefix, _ index: Int, into nodes: inout [Node]) {
        var node = 0
        for bit in 0..<prefix.length {
            let next = prefix.bit(bit) == 0 ? nodes[node].children.0 : nodes[node].children.1
            if next >= 0 {
                node = Int(next)
            } else {
                nodes.append(Node())
                let made = Int32(nodes.count - 1)
                if prefix.bit(bit) == 0 { nodes[node].children.0 = made } else { nodes[node].children.1 = made }
                node = Int(made)
            }
        }
        nodes[node].entry = Int32(index)
    }

    /// The entry of the longest prefix holding `address` (4 or 16 bytes), or nil.
    public func lookup(_ address: [UInt8]) -> Entry? {
        lookup(address, upTo: address.count * 8)
    }

    /// The same, among prefixes of at most `bits` bits.
    func lookup(_ address: [UInt8], upTo bits: Int) -> Entry? {
        guard address.count == 4 || address.count == 16 else { return nil }
        let nodes = address.count == 4 ? v4 : v6
        var node = 0
        var found: Int32 = nodes[0].entry
        for bit in 0..<min(bits, address.count * 8) {
            let next = (address[bit / 8] >> (7 - bit % 8)) & 1 == 0 ? nodes[node].children.0 : nodes[node].children.1
            guard next >= 0 else { break }
            node = Int(next)
            if nodes[node].entry >= 0 { found = nodes[node].entry }
        }
        return found >= 0 ? entries[Int(found)] : nil
    }

    public func lookup(_ address: String) -> Entry? {
        IPPrefix.address(address).flatMap(lookup)
    }

    /// A table `cidr,network,region` (header first, in that order; region blank for a
    /// network-only row; networks by their API names `telecom`, `unicom`, `mobile`, `cernet`;
    /// regions by GB/T 2260 code). All rows or none: every bad row is reported.
    public static func parse(csv: String) -> Result<NetworkMap, InvalidRows> {
        var errors: [RowError] = []
        var entries: [Entry] = []
        var firstRow: [IPPrefix: Int] = [:]
        let lines = csv.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        let header = lines.first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() } ?? ""
        guard header == "cidr,network,region" || header == "\u{FEFF}cidr,network,region" else {
            return .failure(InvalidRows(rows: [RowError(row: 1, field: "header", message: "must be cidr,network,region")]))
        }
        for (offset, line) in lines.dropFirst().enumerated() {
            let row = offset + 2
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 3 else {
                errors.append(RowError(row: row, field: "row", message: "needs three fields: cidr,network,region"))
                continue
            }
            let prefix = IPPrefix(fields[0])
            if prefix == nil { errors.append(RowError(row: row, field: "cidr", message: "is not an IPv4 or IPv6 prefix with its host bits zero")) }
            let network = Network(rawValue: fields[1].lowercased())
            if network == nil { errors.append(RowError(row: row, field: "network", message: "must be telecom, unicom, mobile or cernet")) }
            var region: Int?
            if !fields[2].isEmpty {
                region = Region.all.firstIndex { $0.code == fields[2] }
                if region == nil { errors.append(RowError(row: row, field: "region", message: "is not one of the 31 region codes")) }
            }
            guard let prefix, let network, fields[2].isEmpty || region != nil else { continue }
            if let first = firstRow[prefix] {
                errors.append(RowError(row: row, field: "cidr", message: "\(prefix) is already on row \(first)"))
                continue
            }
            firstRow[prefix] = row
            entries.append(Entry(prefix: prefix, network: network, region: region))
        }
        return errors.isEmpty ? .success(NetworkMap(entries: entries)) : .failure(InvalidRows(rows: errors))
    }

    /// The table as CSV, header first.
    public var csv: String {
        var text = "cidr,network,region\n"
        for entry in entries {
            text += "\(entry.prefix),\(entry.network.rawValue),\(entry.region.map { Region.all[$0].code } ?? "")\n"
        }
        return text
    }
}
