import Foundation
import Hummingbird
import Logging
import ServiceKit
import Store

/// `/api/v1/edges`: administrators add, change, drain, cordon, activate and remove edges; each
/// edge reports its load with its own token.
struct EdgesController: Sendable {
    let fleet: Fleet
    let store: EdgeStore

    struct NewEdge: Decodable {
        var name: String
        var base_url: String
        var network: String
        var region: String
        var capacity_mbps: Double
    }

    struct EdgeChange: Decodable {
        var name: String?
        var base_url: String?
        var capacity_mbps: Double?
        var reason: String?
    }

    struct StateChange: Decodable {
        var reason: String
    }

    struct LastReport: Encodable {
        var at: Date
        var egress_mbps: Double
        var viewers: Int
        var cpu: Double
    }

    struct EdgeBody: ResponseEncodable {
        var id: String
        var name: String
        var base_url: String
        var network: String
        var region: String
        var capacity_mbps: Double
        var admin_state: String
        var health: String
        var last_report: LastReport?
        var created_at: Date
        var updated_at: Date
        /// Only when made or rotated: shown this once.
        var report_token: String?

        init(_ status: Fleet.Status, token: String? = nil) {
            let edge = status.edge
            id = edge.id.lowercased
            name = edge.name
            base_url = edge.baseURL
            network = edge.network.rawValue
            region = edge.region
            capacity_mbps = edge.capacityMbps
            admin_state = edge.adminState.rawValue
            health = status.health.rawValue
            if let report = status.lastReport, let at = status.lastReportAt {
                last_report = LastReport(at: at, egress_mbps: report.egress_mbps, viewers: report.viewers, cpu: report.cpu)
            }
            created_at = edge.createdAt
            updated_at = edge.updatedAt
            report_token = token
        }
    }

    struct EdgeList: ResponseEncodable {
        var items: [EdgeBody]
    }

    struct ChangeList: ResponseEncodable {
        var items: [EdgeStore.Change]
    }

    static let name = TextRule.name(upTo: 100)
    static let reason = TextRule(scalars: 1...500)
    static let capacityRange: ClosedRange<Double> = 1...1_000_000

    func register(on routes: RouteTable) {
        routes.post("/api/v1/edges", for: .users(.admin), use: fleet.whenLoaded(create))
        routes.get("/api/v1/edges", for: .users(.admin), use: fleet.whenLoaded(list))
        routes.get("/api/v1/edges/:id", for: .users(.admin), use: fleet.whenLoaded(show))
        routes.patch("/api/v1/edges/:id", for: .users(.admin), use: fleet.whenLoaded(change))
        routes.delete("/api/v1/edges/:id", for: .users(.admin), use: fleet.whenLoaded(remove))
        routes.get("/api/v1/edges/:id/changes", for: .users(.admin), use: fleet.whenLoaded(changes))
        routes.post("/api/v1/edges/:id/report-token", for: .users(.admin), use: fleet.whenLoaded(rotateToken))
        for state in AdminState.allCases {
            let verb = state == .active ? "activate" : state == .draining ? "drain" : "cordon"
            routes.post("/api/v1/edges/:id/\(verb)", for: .users(.admin), use: fleet.whenLoaded { request, context in
                try await setState(state, verb: verb, request: request, context: context)
            })
        }
        routes.post("/api/v1/edges/:id/report", for: .custom("edges", EdgeReportAuthenticator(fleet: fleet)), use: fleet.whenLoaded(report))
    }

    static func checkURL(_ raw: String, into errors: inout [Problem.FieldError]) -> String? {
        let value = raw.trimmingCharacters(in: .whitespaces)
        guard value.utf8.count <= 300, let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
            value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            errors.append(.init(field: "base_url", message: "must be an http or https URL of at most 300 characters"))
            return nil
        }
        return value
    }

    static func checkCapacity(_ value: Double, into errors: inout [Problem.FieldError]) {
        if !value.isFinite || !capacityRange.contains(value) {
            errors.append(.init(field: "capacity_mbps", message: "must be from 1 to 1,000,000 Mbit/s"))
        }
    }

    @Sendable func create(_ request: Request, context: CallerContext<Identity>) async throws -> EditedResponse<EdgeBody> {
        let body = try await request.decodeJSON(as: NewEdge.self, context: context)
        var errors: [Problem.FieldError] = []
        let name = Self.name.check(body.name, field: "name", into: &errors) ?? ""
        let baseURL = Self.checkURL(body.base_url, into: &errors) ?? ""
        let network = Network(rawValue: body.network)
        if network == nil { errors.append(.init(field: "network", message: "must be telecom, unicom, mobile or cernet")) }
        if Region.named(body.region) == nil { errors.append(.init(field: "region", message: "must be one of the 31 region codes (GET /api/v1/regions)")) }
        Self.checkCapacity(body.capacity_mbps, into: &errors)
        guard errors.isEmpty, let network else { throw Problem.invalid(errors) }
        let now = Date()
        let edge = Edge(
            id: UUID(), name: name, baseURL: baseURL, network: network, region: body.region, capacityMbps: body.capacity_mbps,
            adminState: .active, createdAt: now, updatedAt: now
        )
        let token = SecretToken.random()
        do {
            try await store.insert(edge, tokenHash: SecretToken.digest(token), by: context.caller.userID, logger: context.logger)
        } catch where error.isUniqueViolation {
            throw Problem(.conflict, detail: "An edge named \"\(name)\" exists.", errors: [.init(field: "name", message: "is taken")])
        }
        fleet.put(edge, tokenHash: SecretToken.digest(token))
        context.logger.notice("edge added", metadata: ["edge": "\(edge.id.lowercased)", "network": "\(network.rawValue)", "region": "\(edge.region)"])
        return EditedResponse(status: .created, headers: [.location: "/api/v1/edges/\(edge.id.lowercased)"], response: EdgeBody(fleet.status(edge.id)!, token: token))
    }

    @Sendable func list(_ request: Request, context: CallerContext<Identity>) async throws -> EdgeList {
        EdgeList(items: fleet.all.map { EdgeBody($0) })
    }

    func status(_ context: CallerContext<Identity>) throws -> Fleet.Status {
        let id = try context.parameters.uuid("id")
        guard let status = fleet.status(id) else { throw Problem.notFound("No edge has id \(id.lowercased).") }
        return status
    }

    @Sendable func show(_ request: Request, context: CallerContext<Identity>) async throws -> EdgeBody {
        EdgeBody(try status(context))
    }

    @Sendable func change(_ request: Request, context: CallerContext<Identity>) async throws -> EdgeBody {
        let current = try status(context)
        let body = try await request.decodeJSON(as: EdgeChange.self, context: context)
        var errors: [Problem.FieldError] = []
        var edge = current.edge
        if let name = body.name { edge.name = Self.name.check(name, field: "name", into: &errors) ?? edge.name }
        if let url = body.base_url { edge.baseURL = Self.checkURL(url, into: &errors) ?? edge.baseURL }
        if let capacity = body.capacity_mbps {
            Self.checkCapacity(capacity, into: &errors)
            edge.capacityMbps = capacity
        }
        let reason = body.reason.flatMap { Self.reason.check($0, field: "reason", into: &errors) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        edge.updatedAt = Date()
        let what = [body.name.map { _ in "name" }, body.base_url.map { _ in "base_url" }, body.capacity_mbps.map { _ in "capacity \(edge.capacityMbps)" }]
            .compactMap { $0 }.joined(separator: ", ")
        do {
            guard try await store.update(edge, by: context.caller.userID, change: "changed " + (what.isEmpty ? "nothing" : what), reason: reason, logger: context.logger)
            else { throw Problem.notFound("No edge has id \(edge.id.lowercased).") }
        } catch where error.isUniqueViolation {
            throw Problem(.conflict, detail: "An edge named \"\(edge.name)\" exists.", errors: [.init(field: "name", message: "is taken")])
        }
        fleet.put(edge, tokenHash: try currentTokenHash(edge.id))
        return EdgeBody(fleet.status(edge.id)!)
    }

    private func currentTokenHash(_ id: UUID) throws -> Data {
        guard let hash = fleet.tokenHash(of: id) else { throw Problem.notFound("No edge has id \(id.lowercased).") }
        return hash
    }

    func setState(_ state: AdminState, verb: String, request: Request, context: CallerContext<Identity>) async throws -> EdgeBody {
        let current = try status(context)
        let body = try await request.decodeJSON(as: StateChange.self, context: context)
        var errors: [Problem.FieldError] = []
        let reason = Self.reason.check(body.reason, field: "reason", into: &errors)
        guard errors.isEmpty, let reason else { throw Problem.invalid(errors) }
        var edge = current.edge
        edge.adminState = state
        edge.updatedAt = Date()
        guard try await store.update(edge, by: context.caller.userID, change: "state \(state.rawValue)", reason: reason, logger: context.logger) else {
            throw Problem.notFound("No edge has id \(edge.id.lowercased).")
        }
        fleet.put(edge, tokenHash: try currentTokenHash(edge.id))
        context.logger.notice("edge \(verb)", metadata: ["edge": "\(edge.id.lowercased)"])
        return EdgeBody(fleet.status(edge.id)!)
    }

    @Sendable func remove(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let id = try status(context).edge.id
        guard try await store.delete(id, by: context.caller.userID, logger: context.logger) else { throw Problem.notFound("No edge has id \(id.lowercased).") }
        fleet.remove(id)
        context.logger.notice("edge removed", metadata: ["edge": "\(id.lowercased)"])
        return Response(status: .noContent)
    }

    @Sendable func changes(_ request: Request, context: CallerContext<Identity>) async throws -> ChangeList {
        let id = try context.parameters.uuid("id")
        let items = try await store.changes(id, logger: context.logger)
        guard !items.isEmpty else { throw Problem.notFound("No edge has id \(id.lowercased).") }
        return ChangeList(items: items)
    }

    @Sendable func rotateToken(_ request: Request, context: CallerContext<Identity>) async throws -> EdgeBody {
        var edge = try status(context).edge
        let token = SecretToken.random()
        edge.updatedAt = Date()
        guard try await store.update(edge, tokenHash: SecretToken.digest(token), by: context.caller.userID, change: "report token rotated", reason: nil, logger: context.logger)
        else { throw Problem.notFound("No edge has id \(edge.id.lowercased).") }
        fleet.put(edge, tokenHash: SecretToken.digest(token))
        return EdgeBody(fleet.status(edge.id)!, token: token)
    }

    @Sendable func report(_ request: Request, context: CallerContext<EdgeReporter>) async throws -> Response {
        let report = try await request.decodeJSON(as: EdgeReport.self, context: context)
        var errors: [Problem.FieldError] = []
        if !report.egress_mbps.isFinite || !(0...10_000_000).contains(report.egress_mbps) {
            errors.append(.init(field: "egress_mbps", message: "must be from 0 to 10,000,000"))
        }
        if !(0...100_000_000).contains(report.viewers) { errors.append(.init(field: "viewers", message: "must be from 0 to 100,000,000")) }
        if !report.cpu.isFinite || !(0...100_000).contains(report.cpu) { errors.append(.init(field: "cpu", message: "must be a percentage from 0 (times cores)")) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        if fleet.report(report, from: context.caller.edge, at: Date()) {
            try? await store.recordHealth(context.caller.edge, .up, reason: "reports arrived", logger: context.logger)
            context.logger.notice("edge up", metadata: ["edge": "\(context.caller.edge.lowercased)"])
        }
        return Response(status: .noContent)
    }
}

/// An edge proven by its report token, on its own report route only.
struct EdgeReporter: CallerIdentity {
    var edge: UUID
    var logMetadata: Logger.Metadata { ["edge": .string(edge.lowercased)] }
}

struct EdgeReportAuthenticator: Authenticator {
    let fleet: Fleet

    func authenticate(_ request: Request, context: AppRequestContext) async throws -> EdgeReporter {
        guard let token = request.bearerToken else { throw Problem.unauthorized("An edge reports with `Authorization: Bearer <its report token>`.") }
        // An unknown edge and a wrong token read the same: the answer says nothing about which.
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text), fleet.accepts(token: token, for: id) else {
            throw Problem.unauthorized("Not a known edge, or not its report token.")
        }
        return EdgeReporter(edge: id)
    }
}

