import PostgresNIO

extension Error {
    /// The SQLSTATE of a PostgreSQL error, e.g. `23505` for a unique violation.
    public var sqlState: String? {
        (self as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The constraint a PostgreSQL error names, if any.
    public var constraintName: String? {
        (self as? PSQLError)?.serverInfo?[.constraintName]
    }

    /// A value the database refused as such: a CHECK or NOT NULL constraint, or a data exception
    /// (SQLSTATE class 22: a NUL byte, a date out of range, a number too large). Input that gets
    /// this far was not checked well enough; it still deserves a 422, never a 500. The field is
    /// the column the constraint guards, when PostgreSQL's naming (`<table>_<column>_check`) says.
    public var refusedValue: (field: String, sqlState: String)? {
        guard let error = self as? PSQLError, let state = error.serverInfo?[.sqlState] else { return nil }
        guard state.hasPrefix("22") || state == "23514" || state == "23502" else { return nil }
        let info = error.serverInfo
        if let column = info?[.columnName] { return (column, state) }
        if let constraint = info?[.constraintName], let table = info?[.tableName], constraint.hasPrefix(table + "_") {
            var field = constraint.dropFirst(table.count + 1)
            for suffix in ["_check", "_not_null"] where field.hasSuffix(suffix) { field = field.dropLast(suffix.count) }
            return (String(field), state)
        }
        return ("body", state)
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// An exclusion constraint refused overlapping rows (a double-booked teacher or class).
    public var isExclusionViolation: Bool { sqlState == "23P01" }
}
