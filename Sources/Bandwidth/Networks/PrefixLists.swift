import Foundation
import Allocation
import Reference

/// The real prefix lists in `Deploy/data/`: each operator's announced prefixes and each
/// province's, as text, for `simulate`, `network-table` and the demo's network table.
public struct PrefixLists: Sendable {
    static let operatorFiles: [Network: String] = [.telecom: "chinanet", .unicom: "unicom", .mobile: "cmcc", .cernet: "cernet"]

    /// Each network's IPv4 list and, with `ipv6`, its IPv6 list after it.
    public let operators: [Network: [String]]
    public let provinces: [String: String]

    public init(folder: String, ipv6: Bool) throws {
        var operators: [Network: [String]] = [:]
        for (network, file) in Self.operatorFiles {
            let files = ipv6 ? ["\(file).txt", "\(file)6.txt"] : ["\(file).txt"]
            operators[network] = try files.map { try String(contentsOfFile: "\(folder)/china-operator-ip/\($0)", encoding: .utf8) }
        }
        var provinces: [String: String] = [:]
        for region in Region.all {
            provinces[region.code] = try String(contentsOfFile: "\(folder)/china-province-ip/\(region.code).txt", encoding: .utf8)
        }
        self.operators = operators
        self.provinces = provinces
    }
}

extension NationalNetworkTable {
    /// The national table from the lists in `folder` (IPv4 and IPv6).
    public static func build(from folder: String) throws -> (map: NetworkMap, report: Report) {
        let lists = try PrefixLists(folder: folder, ipv6: true)
        return build(operators: lists.operators, provinces: lists.provinces)
    }
}
