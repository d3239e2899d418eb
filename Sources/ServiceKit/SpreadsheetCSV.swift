import Foundation
import Hummingbird

/// A CSV file meant to be opened in a spreadsheet (activation codes, attendance reports): RFC 4180
/// quoting, CRLF line ends, a UTF-8 byte-order mark so Excel shows Chinese names instead of
/// mojibake, and every cell a spreadsheet would read as a formula neutralised.
///
/// A display name such as `=HYPERLINK("http://evil","click")` is data; a spreadsheet would run
/// it. Cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'`
/// (OWASP's advice), which spreadsheets show as text and do not print.
public struct SpreadsheetCSV: Sendable {
    public private(set) var text: String

    public init(header: [String]) {
        text = ""
        append(header)
    }

    public mutating func append(_ row: [String]) {
        text += row.map(Self.cell).joined(separator: ",")
        text += "\r\n"
    }

    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    static func cell(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, formulaStarts.contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || value.hasPrefix("'") else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The file's bytes, starting with the byte-order mark.
    public var bytes: ByteBuffer {
        var buffer = ByteBuffer(bytes: [0xEF, 0xBB, 0xBF])
        buffer.writeString(text)
        return buffer
    }

    /// A download named `filename`.
    public func response(filename: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""],
            body: .init(byteBuffer: bytes)
        )
    }
}

/// A `text/csv` request body, read whole and checked to be UTF-8 (roster imports, the network
/// table).
public struct CSVUpload: Sendable {
    public var bytes: ByteBuffer
    public var text: String
}

extension Request {
    /// Whether the caller asked for CSV (`Accept: text/csv`) rather than JSON.
    public var acceptsCSV: Bool {
        headers[values: .accept].contains { $0.lowercased().contains("text/csv") }
    }

    /// The body as CSV text, or a problem saying what to send instead: 415 for another media
    /// type (`expected` describes the file), 413 past `limit` bytes, 400 for bytes that are not
    /// UTF-8.
    public func csvUpload(upTo limit: Int, expected: String) async throws -> CSVUpload {
        let mediaType = headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "text/csv" else {
            throw Problem(.unsupportedMediaType, detail: "Send \(expected) as text/csv.")
        }
        let bytes = try await body.collect(upTo: limit)
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw Problem.badRequest("The file must be UTF-8 text (save the spreadsheet as \"CSV UTF-8\").")
        }
        return CSVUpload(bytes: bytes, text: text)
    }
}
