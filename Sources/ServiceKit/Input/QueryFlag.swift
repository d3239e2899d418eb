import Hummingbird

extension Request {
    /// A yes-or-no query parameter: `true`/`false` or `1`/`0`, false when absent. Anything else
    /// is 422: `?rest_of_series=yes` once meant "no" without a word.
    public func flag(_ name: String) throws -> Bool {
        guard let value = uri.queryParameters[Substring(name)] else { return false }
        switch value {
        case "true", "1": return true
        case "false", "0": return false
        default: throw Problem.invalid(field: name, "must be true or false")
        }
    }
}
