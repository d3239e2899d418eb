import CSV
import Foundation
import ServiceKit

/// A school's roster spreadsheet, parsed and checked row by row before anything is written.
/// Row numbers are the spreadsheet's: the header is row 1, the first person row 2.
struct RosterFile {
    struct Entry: Sendable {
        var row: Int
        /// Nil when left blank: one is generated from the school's code.
        var username: String?
        var displayName: String
        var role: Role
        /// Students only.
        var className: String?
    }

    static let columns = ["username", "display_name", "role", "class_name"]

    var entries: [Entry] = []
    var errors: [Problem.FieldError] = []

    init(csv text: String) throws {
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, hasHeaderRow: true)
        } catch {
            throw Problem.badRequest("The body is not a CSV file with a header row (\(Self.columns.joined(separator: ","))).")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = Self.columns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw Problem.invalid(missing.map { Problem.FieldError(row: 1, field: $0, message: "column is missing from the header row") })
        }
        let index = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var firstRowOfUsername: [String: Int] = [:]
        var row = 1
        while let fields = reader.next() {
            row += 1
            if fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            func field(_ name: String) -> String {
                let position = index[name]!
                return position < fields.count ? fields[position].trimmingCharacters(in: .whitespacesAndNewlines) : ""
            }
            if let entry = check(row: row, username: field("username").lowercased(), displayName: field("display_name"), role: field("role").lowercased(), className: field("class_name")) {
                if let username = entry.username {
                    if let first = firstRowOfUsername[username] {
                        errors.append(.init(row: row, field: "username", message: "\"\(username)\" is already on row \(first)"))
                        continue
                    }
                    firstRowOfUsername[username] = row
                }
                entries.append(entry)
            }
        }
        if reader.error != nil {
            throw Problem.badRequest("The CSV could not be read after row \(row) (is it UTF-8 text?).")
        }
    }

    /// The row as an entry, or nil after recording what is wrong with it.
    private mutating func check(row: Int, username: String, displayName: String, role: String, className: String) -> Entry? {
        let before = errors.count
        if !username.isEmpty && !UserStore.username.accepts(username) {
            errors.append(.init(row: row, field: "username", message: UserStore.username.describe + " (or blank to generate one)"))
        }
        _ = UserStore.displayName.check(displayName, field: "display_name", row: row, into: &errors)
        let parsedRole: Role? = switch role {
        case "student": .student
        case "teacher": .teacher
        case "admin": nil
        default: nil
        }
        if parsedRole == nil {
            errors.append(.init(row: row, field: "role", message: role == "admin" ? "administrators cannot be imported; create them one by one" : "must be student or teacher"))
        }
        if parsedRole == .student && className.isEmpty {
            errors.append(.init(row: row, field: "class_name", message: "a student needs the name of their class"))
        }
        if parsedRole == .teacher && !className.isEmpty {
            errors.append(.init(row: row, field: "class_name", message: "teachers belong to no class; leave it blank"))
        }
        guard errors.count == before, let parsedRole else { return nil }
        return Entry(row: row, username: username.isEmpty ? nil : username, displayName: displayName, role: parsedRole, className: className.isEmpty ? nil : className)
    }
}
