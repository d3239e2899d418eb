import Crypto
import Foundation
import Hummingbird
import Logging
import ServiceKit
import Store
import TestSupport

/// A service of the kit's own, for testing the kit: routes for every kind of caller whose
/// handlers check nothing themselves, so only the declared callers can stand between a request
/// and "reached".
struct ProbeService: CloudClassService {
    static let sessionKey = SymmetricKey(size: .bits256)

    let settings: ServiceSettings
    let database: Database
    let deactivatedUsers = DeactivatedUsers()
    var deactivationSource: any DeactivationSource { NoDeactivations() }

    static func make() async throws -> ProbeService {
        let database = try await TestPostgres.shared.freshDatabase()
        return ProbeService(settings: TestKeys.settings(for: .bandwidth), database: Database(settings: database, logger: Logger(label: "test.probe")))
    }

    func addRoutes(to routes: RouteTable) {
        routes.get("/probe/open", for: .anyone) { _, _ in "reached" }
        routes.get("/probe/user", for: .signedIn) { _, _ in "reached" }
        routes.get("/probe/admin", for: .users(.admin)) { _, _ in "reached" }
        routes.get("/internal/v1/probe", for: .services) { _, _ in "reached" }
        routes.get("/probe/session", for: .custom("sessions", SessionCapabilities(key: Self.sessionKey))) { _, context in
            "reached session \(context.caller.session)"
        }
    }
}

/// A capability like the viewing session's: `Bearer <session>.<HMAC of it>`.
struct SessionCapabilities: Authenticator {
    struct Holder: CallerIdentity {
        var session: String
    }

    let key: SymmetricKey

    static func token(_ session: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(session.utf8), using: key)
        return "\(session).\(Data(mac).base64EncodedString())"
    }

    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Holder {
        guard let token = request.bearerToken, let dot = token.firstIndex(of: ".") else {
            throw Problem.unauthorized("This route needs a session token.")
        }
        let session = String(token[..<dot])
        guard let mac = Data(base64Encoded: String(token[token.index(after: dot)...])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(session.utf8), using: key)
        else {
            throw Problem.unauthorized("The session token is not valid.")
        }
        return Holder(session: session)
    }
}

/// The probe stands alone: nobody is ever deactivated.
struct NoDeactivations: DeactivationSource {
    func deactivated(since: Date, logger: Logger) async throws -> [DeactivatedUser] { [] }
}
