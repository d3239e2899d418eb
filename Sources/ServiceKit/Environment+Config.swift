import Foundation

/// Reads CloudClass settings from environment variables, with the local defaults RUNNING.md
/// gives; a malformed value stops the process with a message naming the variable.
public struct ConfigReader: Sendable {
    public struct InvalidSetting: Error, CustomStringConvertible {
        public var name: String
        public var value: String
        public var expected: String
        public var description: String { "\(name)=\(value) is not valid: expected \(expected)" }

        public init(name: String, value: String, expected: String) {
            self.name = name
            self.value = value
            self.expected = expected
        }
    }

    let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public func string(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    public func string(_ name: String, default fallback: String) -> String {
        string(name) ?? fallback
    }

    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw InvalidSetting(name: name, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func url(_ name: String, default fallback: String) throws -> URL {
        let text = string(name, default: fallback)
        guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
            throw InvalidSetting(name: name, value: text, expected: "an absolute URL such as \(fallback)")
        }
        return url
    }

    /// A secret that must be given (inline or as a file), at least 16 characters.
    public func requiredSecret(_ name: String) throws -> String {
        guard let value = try secret(name)?.trimmingCharacters(in: .whitespacesAndNewlines), value.count >= 16 else {
            throw InvalidSetting(name: name, value: "(missing or short)", expected: "a secret of 16+ characters, or \(name)_FILE naming a file holding one")
        }
        return value
    }

    /// A secret given either inline (`NAME`) or as a file path (`NAME_FILE`), the way `up` hands
    /// secrets to its processes without putting them on a command line.
    public func secret(_ name: String) throws -> String? {
        if let inline = string(name) { return inline }
        guard let path = string("\(name)_FILE") else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw InvalidSetting(name: "\(name)_FILE", value: path, expected: "a readable file")
        }
    }
}

/// The platform's services and where each listens by default (RUNNING.md): the address book a
/// service uses to find another without knowing anything else about it.
public enum ServiceName: String, CaseIterable, Sendable {
    case scheduling, broadcast, attendance, bandwidth

    public var defaultPort: Int {
        switch self {
        case .scheduling: 8101
        case .broadcast: 8102
        case .attendance: 8103
        case .bandwidth: 8104
        }
    }

    /// `CLOUDCLASS_SCHEDULING_URL` and friends: where the others find this service.
    public var urlVariable: String { "CLOUDCLASS_\(rawValue.uppercased())_URL" }

    public var defaultURL: String { "http://127.0.0.1:\(defaultPort)" }
}
