import PostgresNIO

extension Error {
    /// A failure that says nothing about the statement, only that the database was briefly out
    /// of reach (restart, failover, dropped connection) or asked for a retry (serialization,
    /// deadlock): idempotent work may simply be tried again.
    public var isTransientDatabaseFailure: Bool {
        if self is DatabaseBusy { return true }
        guard let error = self as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return true
        case .server:
            guard let state = error.serverInfo?[.sqlState] else { return false }
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01"].contains(state)
        default:
            return false
        }
    }
}
