import Allocation
import Bandwidth
import ArgumentParser
import Foundation
import Reference

/// `cloudclass network-table`: the national `cidr,network,region` table from the real prefix
/// lists, for `PUT /api/v1/networks`; the counts of what each tie-break rule decided go to
/// standard error.
struct NetworkTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-table",
        abstract: "Print the national cidr,network,region table built from the operators' and provinces' prefix lists."
    )

    @Option(help: "The folder holding china-operator-ip/ and china-province-ip/.") var data = "Deploy/data"

    func run() throws {
        let (map, report) = try NationalNetworkTable.build(from: data)
        FileHandle.standardOutput.write(Data(map.csv.utf8))
        let summary = """
            network-table: \(report.rows) rows (\(report.networkOnlyRows) network-only); \
            \(report.sharedByOperators) prefixes announced by two operators went to the first of \
            \(NationalNetworkTable.operatorOrder.map(\.rawValue).joined(separator: ", ")); \
            \(report.sharedByProvinces) listed by two provinces went to the lower code; \
            \(report.provinceRowsInsideOperators) province prefixes refine an operator's

            """
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
