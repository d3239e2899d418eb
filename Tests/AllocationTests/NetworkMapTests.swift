import Allocation
import Foundation
import Reference
import Testing

@Suite struct NetworkMapTests {
    static let hubei = Allocator.regionIndex("420000")!
    static let beijing = Allocator.regionIndex("110000")!

    @Test func theLongestPrefixWinsForIPv4AndIPv6() throws {
        let table = """
            cidr,network,region
            10.0.0.0/8,cernet,
            10.1.0.0/16,telecom,420000
            10.1.2.0/24,mobile,110000
            240e::/20,telecom,
            240e:100::/24,telecom,420000
            127.0.1.0/24,mobile,420000

            """
        let map = try NetworkMap.parse(csv: table).get()
        #expect(map.lookup("10.9.9.9")?.network == .cernet && map.lookup("10.9.9.9")?.region == nil)
        #expect(map.lookup("10.1.9.9")?.network == .telecom && map.lookup("10.1.9.9")?.region == Self.hubei)
        #expect(map.lookup("10.1.2.3")?.network == .mobile && map.lookup("10.1.2.3")?.region == Self.beijing)
        #expect(map.lookup("240e:100::1")?.region == Self.hubei)
        #expect(map.lookup("240e:f00::1")?.region == nil && map.lookup("240e:f00::1")?.network == .telecom)
        #expect(map.lookup("127.0.1.7")?.network == .mobile, "the demo's loopback viewer in Hubei on China Mobile")
        #expect(map.lookup("11.0.0.1") == nil)
        #expect(map.lookup("not an address") == nil)
    }

    @Test func everyBadRowIsNamedAndNothingIsKept() {
        let table = """
            cidr,network,region
            10.0.0.0/8,cernet,
            10.0.0.1/8,cernet,
            10.2.0.0/16,fibre,
            10.3.0.0/16,telecom,999999
            10.0.0.0/8,telecom,420000
            10.4.0.0/16,telecom
            """
        guard case .failure(let invalid) = NetworkMap.parse(csv: table) else {
            Issue.record("accepted a bad table")
            return
        }
        let errors = invalid.rows
        #expect(errors.map(\.row) == [3, 4, 5, 6, 7])
        #expect(errors.map(\.field) == ["cidr", "network", "region", "cidr", "row"])
        #expect(errors[3].message.contains("row 2"))
        guard case .failure(let header) = NetworkMap.parse(csv: "prefix,net\n10.0.0.0/8,cernet,\n") else {
            Issue.record("no header check")
            return
        }
        #expect(header.rows.first?.field == "header")
    }

    @Test func theTableRoundTripsThroughCSV() throws {
        let map = try NetworkMap.parse(csv: "\u{FEFF}cidr,network,region\r\n1.12.16.0/20,unicom,420000\r\n2001:db8::/32,cernet,\r\n").get()
        #expect(map.csv == "cidr,network,region\n1.12.16.0/20,unicom,420000\n2001:db8::/32,cernet,\n")
    }
}

@Suite struct NationalNetworkTableTests {
    @Test func operatorsCrossedWithProvincesFollowTheStatedRules() throws {
        let (map, report) = NationalNetworkTable.build(
            operators: [
                .telecom: ["10.0.0.0/8\n11.0.0.0/8\n", "240e::/20\n"],
                .cernet: ["10.1.0.0/16\n"],
                .unicom: ["11.0.0.0/8\n"],  // the same prefix as Telecom's: Unicom comes first in the order
            ],
            provinces: ["420000": "10.0.0.0/12\n11.5.0.0/16\n", "110000": "10.1.2.0/24\n11.5.0.0/16\n"]
        )
        let hubei = Allocator.regionIndex("420000")!, beijing = Allocator.regionIndex("110000")!
        #expect(map.lookup("10.200.0.1")?.network == .telecom && map.lookup("10.200.0.1")?.region == nil, "rule 3: no province holds it")
        #expect(map.lookup("10.2.0.1")?.network == .telecom && map.lookup("10.2.0.1")?.region == hubei, "rule 4: the province's row inside Telecom's")
        #expect(map.lookup("10.1.5.5")?.network == .cernet && map.lookup("10.1.5.5")?.region == hubei, "rule 3: CERNET's /16 inside Hubei's /12")
        #expect(map.lookup("10.1.2.3")?.network == .cernet && map.lookup("10.1.2.3")?.region == beijing, "rule 4: narrowest operator holding it")
        #expect(map.lookup("11.0.0.1")?.network == .unicom, "rule 1")
        #expect(map.lookup("11.5.0.1")?.region == beijing, "rule 2: the lower region code")
        #expect(map.lookup("240e::1")?.network == .telecom && map.lookup("240e::1")?.region == nil, "rule 5")
        #expect(report.sharedByOperators == 1 && report.sharedByProvinces == 1)
        #expect(report.provinceRowsInsideOperators == 3)
        #expect(report.rows == map.entries.count)
    }
}

extension NationalNetworkTableTests {
    /// The real lists: about 17,000 rows that parse back as a table, with no prefix twice.
    @Test func theNationalTableFromTheRealListsIsAValidTable() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Deploy/data").standardized.path
        let files: [Network: String] = [.telecom: "chinanet", .unicom: "unicom", .mobile: "cmcc", .cernet: "cernet"]
        var operators: [Network: [String]] = [:]
        for (network, file) in files {
            operators[network] = try ["\(file).txt", "\(file)6.txt"].map { try String(contentsOfFile: "\(data)/china-operator-ip/\($0)", encoding: .utf8) }
        }
        var provinces: [String: String] = [:]
        for region in Region.all { provinces[region.code] = try String(contentsOfFile: "\(data)/china-province-ip/\(region.code).txt", encoding: .utf8) }
        let (map, report) = NationalNetworkTable.build(operators: operators, provinces: provinces)
        #expect((15_000...20_000).contains(report.rows), "\(report.rows) rows")
        let reparsed = try NetworkMap.parse(csv: map.csv).get()
        #expect(reparsed.entries.count == report.rows)
        // An address of a Guangdong Telecom prefix from the lists.
        #expect(reparsed.lookup("1.12.16.1")?.network == .telecom)
        #expect(reparsed.lookup("1.12.16.1")?.region == Allocator.regionIndex("440000"))
    }
}
