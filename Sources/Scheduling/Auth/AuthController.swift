import Foundation
import Hummingbird
import Logging
import ServiceKit

/// Login, refresh, logout and `/me`.
struct AuthController: Sendable {
    let store: AuthStore
    let hasher: PasswordHasher
    let throttle: SignInThrottle
    let addresses: ClientAddressResolver
    let issuer: TokenIssuer
    let calendarLinks: CalendarLinks

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct ActivateRequest: Decodable {
        var username: String
        var activation_code: String
        var new_password: String
    }

    struct RefreshRequest: Decodable {
        var refresh_token: String
    }

    struct UserSummary: Codable {
        var id: String
        var username: String
        var display_name: String
        var role: Role
    }

    struct TokenPair: ResponseEncodable {
        var token: String
        var expires_at: String
        var refresh_token: String
        var user: UserSummary
    }

    struct Me: ResponseEncodable {
        var id: String
        var username: String
        var display_name: String
        var role: Role
        var school_id: String?
        var class_id: String?
        /// The user's timetable as an iCalendar feed; the URL is the credential.
        var calendar_url: String
    }

    struct UserState: ResponseEncodable {
        var id: String
        var username: String
        var display_name: String
        var role: Role
        var active: Bool
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/auth/login", for: .anyone, use: login)
        routes.post("/api/v1/auth/refresh", for: .anyone, use: refresh)
        routes.post("/api/v1/auth/activate", for: .anyone, use: activate)
        routes.post("/api/v1/auth/logout", for: .anyone, use: logout)
        routes.get("/api/v1/me", for: .signedIn, use: me)
        routes.post("/api/v1/users/:id/deactivate", for: .users(.admin), use: deactivate)
    }

    @Sendable func login(_ request: Request, context: CallerContext<Anyone>) async throws -> TokenPair {
        let body = try await request.decodeJSON(as: LoginRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        // No account can have a name outside the rule, so refusing it here costs no real user
        // anything, and keeps what reaches the throttle and the log short and printable.
        let username = UserStore.username.check(body.username, field: "username", into: &errors) ?? ""
        if body.password.isEmpty || body.password.utf8.count > 256 { errors.append(.init(field: "password", message: "must be 1 to 256 bytes")) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }

        let address = addresses.address(of: request, peer: context.peerAddress)
        let attempt = try admit(username: username, address: address)
        let (account, verified) = try await checking(attempt) {
            let account = try await store.account(username: username, logger: context.logger)
            return (account, try await hasher.verify(body.password, against: account?.passwordHash))
        }
        guard verified, let account else {
            context.logger.info("login failed", metadata: ["username": "\(username)", "client": "\(address)"])
            throw Problem.unauthorized("Wrong username or password.")
        }
        throttle.succeeded(attempt)
        guard account.active else {
            throw Problem.unauthorized("This account is deactivated; ask your school's administrator.")
        }
        let refreshToken = try await store.startFamily(userID: account.id, logger: context.logger)
        return try await pair(for: account, refreshToken: refreshToken)
    }

    /// First sign-in of a user made without a password: the one-time code sets their own.
    @Sendable func activate(_ request: Request, context: CallerContext<Anyone>) async throws -> TokenPair {
        let body = try await request.decodeJSON(as: ActivateRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let username = UserStore.username.check(body.username, field: "username", into: &errors) ?? ""
        let code = ActivationCode.normalize(body.activation_code)
        if code.count != ActivationCode.length { errors.append(.init(field: "activation_code", message: "must be the 10-character code from your school")) }
        if !Passwords.isAcceptable(body.new_password) { errors.append(.init(field: "new_password", message: Passwords.rule)) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }

        let address = addresses.address(of: request, peer: context.peerAddress)
        let attempt = try admit(username: nil, address: address)
        // One answer whatever is wrong (no such user, already activated, wrong, locked or expired
        // code): anything more precise tells a stranger which usernames have a code pending.
        let refused = Problem.unauthorized(
            "This username and activation code do not match a pending activation. Codes last 30 days and lock after 5 wrong tries: "
                + "ask your school for a new one if yours may have. If you already activated, sign in with your password."
        )
        let check = try await checking(attempt) { try await store.checkActivation(username: username, code: code, logger: context.logger) }
        guard case .valid(let account) = check else {
            throw refused
        }
        let hash = try await hasher.hash(body.new_password)
        guard try await store.completeActivation(userID: account.id, code: code, passwordHash: hash, logger: context.logger) else {
            throw refused
        }
        throttle.succeeded(attempt)
        context.logger.notice("account activated", metadata: ["target": "\(account.id.lowercased)"])
        let refreshToken = try await store.startFamily(userID: account.id, logger: context.logger)
        return try await pair(for: account, refreshToken: refreshToken)
    }

    /// Counts the attempt, or 429 saying whose budget ran out and for how long.
    private func admit(username: String?, address: String) throws -> SignInThrottle.Attempt {
        do {
            return try throttle.admit(username: username, address: address)
        } catch .address(let wait) {
            throw Problem.retryLater(.tooManyRequests, after: wait, detail: "Too many failed attempts from your network; wait before trying again.")
        } catch .username(let wait) {
            throw Problem.retryLater(.tooManyRequests, after: wait, detail: "Too many failed sign-ins for this username; wait before trying again.")
        }
    }

    /// Runs the check of an admitted attempt; a failure that is not the caller's (a full bcrypt
    /// queue at 08:00, the database) hands the attempt back, so a storm of 503s cannot use up a
    /// school's budget.
    private func checking<T>(_ attempt: SignInThrottle.Attempt, _ check: () async throws -> T) async throws -> T {
        do {
            return try await check()
        } catch {
            throttle.abandoned(attempt)
            throw error
        }
    }

    @Sendable func refresh(_ request: Request, context: CallerContext<Anyone>) async throws -> TokenPair {
        let body = try await request.decodeJSON(as: RefreshRequest.self, context: context)
        guard !body.refresh_token.isEmpty, body.refresh_token.utf8.count <= 256 else {
            throw Problem.invalid(field: "refresh_token", "must be a refresh token from login or refresh")
        }
        switch try await store.rotate(token: body.refresh_token, logger: context.logger) {
        case .rotated(let account, let newToken):
            return try await pair(for: account, refreshToken: newToken)
        case .unknown:
            throw Problem.unauthorized("This refresh token is not known; sign in again.")
        case .expired:
            throw Problem.unauthorized("This refresh token has expired; sign in again.")
        case .familyRevoked:
            throw Problem.unauthorized("This sign-in has ended (logged out or revoked); sign in again.")
        case .userDeactivated:
            throw Problem.unauthorized("This account is deactivated; ask your school's administrator.")
        case .justSpent:
            throw Problem.unauthorized("This refresh token was just used by another request; use the pair that request received.")
        case .reused:
            throw Problem.unauthorized("This refresh token was already used, so this sign-in has been ended for safety; sign in again.")
        }
    }

    @Sendable func logout(_ request: Request, context: CallerContext<Anyone>) async throws -> Response {
        let body = try await request.decodeJSON(as: RefreshRequest.self, context: context)
        try await store.logout(token: body.refresh_token, logger: context.logger)
        return Response(status: .noContent)
    }

    @Sendable func me(_ request: Request, context: CallerContext<Identity>) async throws -> Me {
        let identity = context.caller
        guard let account = try await store.account(id: identity.userID, logger: context.logger) else {
            throw Problem.unauthorized("The access token names a user that does not exist.")
        }
        return Me(
            id: account.id.lowercased, username: account.username, display_name: account.displayName, role: account.role,
            school_id: account.schoolID?.lowercased, class_id: account.classID?.lowercased,
            calendar_url: try await calendarLinks.url(for: account, logger: context.logger)
        )
    }

    /// The user can no longer sign in and their sign-ins end; their records stay.
    @Sendable func deactivate(_ request: Request, context: CallerContext<Identity>) async throws -> UserState {
        let admin = context.caller
        let id = try context.parameters.uuid("id")
        guard id != admin.userID else {
            throw Problem.conflict("You cannot deactivate your own account; ask another administrator.")
        }
        guard let account = try await store.deactivate(userID: id, logger: context.logger) else {
            throw Problem.notFound("No user has id \(id.lowercased).")
        }
        context.logger.notice("user deactivated", metadata: ["target": "\(id.lowercased)"])
        return UserState(id: account.id.lowercased, username: account.username, display_name: account.displayName, role: account.role, active: account.active)
    }

    private func pair(for account: Account, refreshToken: String) async throws -> TokenPair {
        let access = try await issuer.accessToken(userID: account.id, role: account.role)
        return TokenPair(
            token: access.token,
            expires_at: RFC3339.format(access.expiresAt),
            refresh_token: refreshToken,
            user: UserSummary(id: account.id.lowercased, username: account.username, display_name: account.displayName, role: account.role)
        )
    }
}
