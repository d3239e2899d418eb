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

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// An exclusion constraint refused overlapping rows (a double-booked teacher or class).
    public var isExclusionViolation: Bool { sqlState == "23P01" }
}
