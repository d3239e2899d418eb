import Foundation
import Hummingbird
import Synchronization

/// How a body is read: a public request exactly as the document describes it; an internal
/// message tolerantly, since a newer sender may add members an older receiver does not know.
public enum BodyReading: Sendable {
    case exact
    case tolerant
}

extension Request {
    /// Decodes a JSON body, turning every way it can be wrong into a 400 problem that names the
    /// field: malformed JSON, a missing, unknown or null member, a wrong type, a bad date.
    public func decodeJSON<T: Decodable>(as type: T.Type, context: some RequestContext, reading: BodyReading = .exact) async throws -> T {
        try await decodeJSONKeepingBody(as: type, context: context, reading: reading).value
    }

    /// The same, also returning the body's bytes (an `Idempotency-Key` compares them).
    public func decodeJSONKeepingBody<T: Decodable>(
        as type: T.Type, context: some RequestContext, reading: BodyReading = .exact
    ) async throws -> (value: T, body: ByteBuffer) {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes == 0 {
            throw Problem.badRequest("The request needs a JSON body.")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(RFC3339.decode)
        let value: T
        do {
            value = try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw Problem.badRequest(for: error)
        }
        // The document says a member is there with a value or absent, and names every member:
        // Swift would take a `null` as absent (a PATCH's `"title": null` could mean "clear it")
        // and ignore an unknown member (a typo such as `"start_at"` would change nothing and
        // answer 200). Both are refused, naming the member.
        guard reading == .exact else { return (value, buffer) }
        let shape = JSONShape(scanning: buffer.readableBytesView)
        if let member = shape.firstNullMember {
            throw Problem.badRequest(
                "A member is null.", errors: [Problem.FieldError(field: member, message: "must not be null; leave the member out instead")]
            )
        }
        let known = RequestMembers.of(value)
        let unknown = shape.topLevelKeys.filter { !known.contains($0) }
        if !unknown.isEmpty, !known.isEmpty {
            throw Problem.badRequest(
                "The body has members this request does not take.",
                errors: unknown.prefix(10).map { Problem.FieldError(field: String($0.prefix(64)), message: "is not a member of this request") }
            )
        }
        return (value, buffer)
    }
}

/// The members each request type takes, found once per type by reflection (every request, the
/// busiest paths included, reads a body): a public request type names its stored properties as
/// its members (no CodingKeys).
enum RequestMembers {
    private static let known = Mutex<[ObjectIdentifier: Set<String>]>([:])

    static func of<T>(_ value: T) -> Set<String> {
        let type = ObjectIdentifier(T.self)
        if let members = known.withLock({ $0[type] }) { return members }
        let members = Set(Mirror(reflecting: value).children.compactMap(\.label))
        known.withLock { $0[type] = members }
        return members
    }
}

/// What one pass over a JSON text already known to be valid says about its shape: the members
/// of the top-level object, and the first `null` anywhere.
struct JSONShape {
    var topLevelKeys: [String] = []
    /// The member whose value is (or holds) the first null.
    var firstNullMember: String?

    init<Bytes: Collection<UInt8>>(scanning bytes: Bytes) {
        var inString = false
        var escaped = false
        var depth = 0
        var current: [UInt8] = []
        var lastString: [UInt8] = []
        var key: [UInt8]?
        var awaitingColon = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                    current.append(byte)
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                    current.append(byte)
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    lastString = current
                    awaitingColon = true
                } else {
                    current.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                current.removeAll(keepingCapacity: true)
            case UInt8(ascii: ":"):
                if awaitingColon {
                    key = lastString
                    if depth == 1 { topLevelKeys.append(Self.text(lastString)) }
                }
                awaitingColon = false
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                awaitingColon = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                awaitingColon = false
            case UInt8(ascii: "n"):
                // Outside a string, only `null` starts with n.
                if firstNullMember == nil { firstNullMember = key.map(Self.text) ?? "body" }
                awaitingColon = false
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                break
            default:
                awaitingColon = false
            }
        }
    }

    /// A key as written (escapes are rare in member names and left as they are).
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}

extension Problem {
    static func badRequest(for error: DecodingError) -> Problem {
        func path(_ codingPath: [any CodingKey], adding key: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (key.map { [$0] } ?? [])
            let joined = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .badRequest(
                "The body lacks a required member.",
                errors: [FieldError(field: path(context.codingPath, adding: key), message: "is required")]
            )
        case .typeMismatch(let type, let context):
            return .badRequest(
                "A member has the wrong type.",
                errors: [FieldError(field: path(context.codingPath), message: "must be \(Self.jsonName(of: type))")]
            )
        case .valueNotFound(let type, let context):
            return .badRequest(
                "A member is null.",
                errors: [FieldError(field: path(context.codingPath), message: "must be \(Self.jsonName(of: type)), not null")]
            )
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .badRequest("The body is not valid JSON.")
        case .dataCorrupted(let context):
            return .badRequest(
                "A member has an invalid value.",
                errors: [FieldError(field: path(context.codingPath), message: context.debugDescription)]
            )
        @unknown default:
            return .badRequest("The body could not be read.")
        }
    }

    static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is Date.Type: "an RFC 3339 time with offset"
        case is UUID.Type: "a UUID string"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

/// RFC 3339 times with an offset, with or without fractional seconds.
public enum RFC3339 {
    public static func decode(_ decoder: any Decoder) throws -> Date {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "must be an RFC 3339 time with offset, e.g. 2026-09-01T08:00:00+08:00"
            )
        }
        return date
    }

    public static func parse(_ text: String) -> Date? {
        guard let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        else { return nil }
        return representable.contains(date) ? date : nil
    }

    /// The instants a CloudClass time may name: years 1 to 9999, as RFC 3339 writes them. A date
    /// outside overflows when bound as a PostgreSQL timestamp (and traps the process).
    public static let representable = Date(timeIntervalSince1970: -62_135_596_800)...Date(timeIntervalSince1970: 253_402_300_799.999)

    /// The instant `milliseconds` after 1970 (a cursor's number), nil outside `representable`.
    public static func date(millisecondsSince1970 milliseconds: Int64) -> Date? {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        return representable.contains(date) ? date : nil
    }

    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
