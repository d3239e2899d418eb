import Foundation

/// An edge's nginx configuration: `Deploy/nginx/edge.conf` with its placeholders filled. The
/// one template serves `up`'s demo edges and a deployment's (`cloudclass edge-config`).
public struct EdgeNginxConfig: Sendable {
    /// `host:port` to listen on.
    public var listen: String
    /// The HLS origin, e.g. `http://127.0.0.1:8201` (no trailing slash).
    public var origin: String
    /// The playback signing secret the broadcast service signs URLs with.
    public var secret: String
    /// Folder for the pid, temp files, cache and error log.
    public var prefix: String
    public var accessLog: String
    public var cacheMegabytes = 1024
    /// The unprivileged user workers run as when nginx starts as root.
    public var workerUser: String?

    public init(listen: String, origin: String, secret: String, prefix: String, accessLog: String, workerUser: String?) {
        self.listen = listen
        self.origin = origin
        self.secret = secret
        self.prefix = prefix
        self.accessLog = accessLog
        self.workerUser = workerUser
    }

    public struct Unfilled: Error, CustomStringConvertible {
        public var placeholders: [String]
        public var description: String { "the edge template has placeholders nothing fills: \(placeholders.joined(separator: ", "))" }
    }

    public struct UnsafeValue: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "\(name) may not contain spaces, quotes, braces, semicolons or line breaks" }
    }

    public func render(template: String) throws -> String {
        let values = [
            "listen": listen, "origin": origin.hasSuffix("/") ? String(origin.dropLast()) : origin, "secret": secret, "prefix": prefix,
            "access_log": accessLog, "cache_megabytes": String(cacheMegabytes), "user": workerUser.map { "user \($0);" } ?? "",
        ]
        // Values land inside nginx directives (the secret inside a quoted string): nothing in
        // them may end a directive or a string.
        for (name, value) in values where name != "user" {
            if value.contains(where: { " \"'{};\n\r\t\\$".contains($0) }) { throw UnsafeValue(name: name) }
        }
        var text = template
        for (name, value) in values { text = text.replacingOccurrences(of: "{{\(name)}}", with: value) }
        let unfilled = text.matches(of: /\{\{([a-z_]+)\}\}/).map { String($0.1) }
        guard unfilled.isEmpty else { throw Unfilled(placeholders: unfilled) }
        return text
    }
}
