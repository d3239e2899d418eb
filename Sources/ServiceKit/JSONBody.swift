import Foundation
import Hummingbird

extension Request {
    /// Decodes a JSON body, turning every way it can be wrong into a 400 problem that names the
    /// field: malformed JSON, a missing member, a wrong type, a bad date.
    public func decodeJSON<T: Decodable>(as type: T.Type, context: some RequestContext) async throws -> T {
        try await decodeJSONKeepingBody(as: type, context: context).value
    }

    /// The same, also returning the body's bytes (an `Idempotency-Key` compares them).
    public func decodeJSONKeepingBody<T: Decodable>(as type: T.Type, context: some RequestContext) async throws -> (value: T, body: ByteBuffer) {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes == 0 {
            throw Problem.badRequest("The request needs a JSON body.")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom(RFC3339.decode)
        do {
            return (try decoder.decode(T.self, from: Data(buffer: buffer)), buffer)
        } catch let error as DecodingError {
            throw Problem.badRequest(for: error)
        }
    }
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
