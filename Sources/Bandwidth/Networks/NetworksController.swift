import Allocation
import Foundation
import Hummingbird
import Logging
import Reference
import ServiceKit

/// `/api/v1/networks`: the administrator's table of where addresses are, loaded whole as CSV,
/// read back the same way, and asked about one address at a time.
struct NetworksController: Sendable {
    let networks: ViewerNetworks
    let store: NetworkTableStore
    let fleet: Fleet

    /// The national table is ~0.5 MiB; an IPv6-heavy one may be several times that.
    static let maximumBodyBytes = 16 << 20

    struct Loaded: ResponseEncodable {
        var rows: Int
        var ipv6_rows: Int
        var network_only_rows: Int
        var loaded_at: Date
    }

    struct Located: ResponseEncodable {
        var address: String
        var cidr: String
        var network: String
        var region: String?
    }

    func register(on routes: RouteTable) {
        routes.put("/api/v1/networks", for: .users(.admin), use: fleet.whenLoaded(replace))
        routes.get("/api/v1/networks", for: .users(.admin), use: fleet.whenLoaded(download))
        routes.get("/api/v1/networks/lookup", for: .users(.admin), use: fleet.whenLoaded(lookup))
    }

    @Sendable func replace(_ request: Request, context: CallerContext<Identity>) async throws -> Loaded {
        let upload = try await request.csvUpload(upTo: Self.maximumBodyBytes, expected: "the table with the header cidr,network,region")
        let map: NetworkMap
        switch NetworkMap.parse(csv: upload.text) {
        case .success(let parsed): map = parsed
        case .failure(let invalid):
            throw Problem.invalid(invalid.rows.prefix(1000).map { Problem.FieldError(row: $0.row, field: $0.field, message: $0.message) })
        }
        try await store.replace(with: map, by: context.caller.userID, logger: context.logger)
        networks.replace(with: map)
        let ipv6 = map.entries.count { !$0.prefix.isIPv4 }
        let networkOnly = map.entries.count { $0.region == nil }
        context.logger.notice("network table replaced", metadata: ["rows": "\(map.entries.count)", "ipv6_rows": "\(ipv6)"])
        return Loaded(rows: map.entries.count, ipv6_rows: ipv6, network_only_rows: networkOnly, loaded_at: Date())
    }

    @Sendable func download(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"networks.csv\""],
            body: .init(byteBuffer: ByteBuffer(string: networks.current.csv))
        )
    }

    @Sendable func lookup(_ request: Request, context: CallerContext<Identity>) async throws -> Located {
        let address = request.uri.queryParameters["address"].map(String.init) ?? ""
        guard IPPrefix.address(address) != nil else { throw Problem.invalid(field: "address", "must be an IPv4 or IPv6 address") }
        guard let entry = networks.locate(address) else { throw Problem.notFound("No row of the network table covers \(address).") }
        return Located(address: address, cidr: "\(entry.prefix)", network: entry.network.rawValue, region: entry.region.map { Region.all[$0].code })
    }
}
