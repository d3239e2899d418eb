import Foundation

/// What a text value from the wire may be before it reaches a log, a throttle key or the database.
///
/// Lengths are counted in Unicode scalars, as PostgreSQL's `length()` counts them, never in
/// Swift's grapheme clusters: a megabyte of combining marks is one `Character` but a million
/// scalars. Counting scalars also bounds the UTF-8 bytes (at most 4 per scalar). Control
/// characters (NUL above all, which PostgreSQL's text refuses) are refused rather than stripped,
/// so what is stored is what was sent.
public struct TextRule: Sendable {
    public var minimumScalars: Int
    public var maximumScalars: Int
    /// Line feeds and tabs are allowed (a note); a name or a title is one line.
    public var allowsLineBreaks: Bool

    public init(scalars: ClosedRange<Int>, allowsLineBreaks: Bool = false) {
        self.minimumScalars = scalars.lowerBound
        self.maximumScalars = scalars.upperBound
        self.allowsLineBreaks = allowsLineBreaks
    }

    /// A display name, a school's name, a title: 1 to `maximum` characters on one line.
    public static func name(upTo maximum: Int) -> TextRule { TextRule(scalars: 1...maximum) }

    /// The value with surrounding white space trimmed, or nil after appending what is wrong to `errors`.
    public func check(_ raw: String, field: String, row: Int? = nil, into errors: inout [Problem.FieldError]) -> String? {
        if let message = problem(with: raw) {
            errors.append(.init(row: row, field: field, message: message))
            return nil
        }
        return raw.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What is wrong with `raw`, or nil. Checks the raw length first, so nothing below walks a
    /// huge value more than once.
    public func problem(with raw: String) -> String? {
        let limit = "must be \(minimumScalars) to \(maximumScalars) characters"
        // Trimming allows some white space around the value; anything longer is refused unread.
        guard raw.utf8.count <= maximumScalars * 4 + 64 else { return limit }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let scalars = value.unicodeScalars
        var count = 0
        for scalar in scalars {
            count += 1
            if TextRule.isControl(scalar) && !(allowsLineBreaks && (scalar == "\n" || scalar == "\t")) {
                return scalar == "\0" ? "must not contain NUL characters" : "must not contain control characters (U+\(TextRule.hex(scalar)))"
            }
        }
        guard (minimumScalars...maximumScalars).contains(count) else { return limit }
        return nil
    }

    /// C0 and C1 controls and DEL, and the separators that end a line in some readers.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// An identifier such as a username or a school code: ASCII only, checked scalar by scalar (a
/// regular expression's `$` also matches before a final line feed, which the database refuses).
public struct IdentifierRule: Sendable {
    public var first: Set<Character>
    public var rest: Set<Character>
    public var length: ClosedRange<Int>
    public var describe: String

    public init(first: String, rest: String, length: ClosedRange<Int>, describe: String) {
        self.first = Set(first)
        self.rest = Set(rest)
        self.length = length
        self.describe = describe
    }

    public func accepts(_ value: String) -> Bool {
        guard value.utf8.count <= length.upperBound, length.contains(value.unicodeScalars.count) else { return false }
        guard value.unicodeScalars.allSatisfy(\.isASCII), let head = value.first, first.contains(head) else { return false }
        return value.dropFirst().allSatisfy(rest.contains)
    }

    /// `raw` trimmed of spaces and lowercased when it fits, or nil after appending `describe` to `errors`.
    public func check(_ raw: String, field: String, row: Int? = nil, into errors: inout [Problem.FieldError]) -> String? {
        let value = normalize(raw)
        guard accepts(value) else {
            errors.append(.init(row: row, field: field, message: describe))
            return nil
        }
        return value
    }

    /// How a typed identifier is compared: surrounding spaces ignored, ASCII letters lowercased.
    /// Bounded first, so a huge value is never copied.
    public func normalize(_ raw: String) -> String {
        guard raw.utf8.count <= length.upperBound + 64 else { return raw }
        return raw.trimmingCharacters(in: .whitespaces).lowercased()
    }

    public static let digits = "0123456789"
    public static let lowercaseLetters = "abcdefghijklmnopqrstuvwxyz"
}
