import Foundation
import PostgresNIO

/// Where a service's database is: a `postgres://` URL, over TCP or a unix socket
/// (`postgres://user:pass@/db?host=/path/to/socket/dir`, as libpq writes it).
public struct DatabaseSettings: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself, e.g. `/run/cc/.s.PGSQL.5432`.
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    /// The most connections this process opens (PostgresClient's pool).
    public var maximumConnections: Int

    public init(endpoint: Endpoint, username: String, password: String?, database: String, maximumConnections: Int = 20) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.maximumConnections = maximumConnections
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "DATABASE_URL is not valid: \(reason)" }
    }

    /// Parses `postgres://user[:password]@[host][:port]/database[?host=/socket/dir]`.
    public init(url text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw InvalidURL(reason: "expected postgres://user:password@host:port/database")
        }
        guard let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw InvalidURL(reason: "it names no user")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw InvalidURL(reason: "it names no database") }
        let port = components.port ?? 5432
        let socketDirectory = components.queryItems?.first(where: { $0.name == "host" })?.value
        let endpoint: Endpoint
        if let socketDirectory, socketDirectory.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        } else if let host = components.host, !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            throw InvalidURL(reason: "it names neither a host nor a socket folder (?host=/dir)")
        }
        self.init(
            endpoint: endpoint,
            username: user,
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding },
            database: database
        )
    }

    /// The same place as a URL, for handing to a child process.
    public var url: String {
        func encoded(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
        }
        let credentials = encoded(username) + (password.map { ":" + encoded($0) } ?? "")
        switch endpoint {
        case .tcp(let host, let port):
            return "postgres://\(credentials)@\(host):\(port)/\(encoded(database))"
        case .unixSocket(let path):
            let url = URL(fileURLWithPath: path)
            let port = url.lastPathComponent.split(separator: ".").last.flatMap { Int($0) } ?? 5432
            return "postgres://\(credentials)@:\(port)/\(encoded(database))?host=\(url.deletingLastPathComponent().path)"
        }
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            // Loopback and private networks here; TLS would be configured for a remote store.
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectionIdleTimeout = .seconds(60)
        return configuration
    }

    /// The settings for one connection of its own (no pool).
    public var connectionConfiguration: PostgresConnection.Configuration {
        switch endpoint {
        case .tcp(let host, let port):
            return .init(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        case .unixSocket(let path):
            return .init(unixSocketPath: path, username: username, password: password, database: database)
        }
    }

    /// Runs `body` on a connection of its own, closed afterwards: for one-off administrative work
    /// (a pool's background machinery is not worth starting for a statement or two).
    public func withConnection<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public func with(database: String) -> DatabaseSettings {
        var copy = self
        copy.database = database
        return copy
    }
}
