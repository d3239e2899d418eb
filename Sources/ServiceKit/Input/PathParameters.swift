import Foundation
import Hummingbird

extension Parameters {
    /// A UUID path parameter, or 404 (a malformed id names nothing).
    public func uuid(_ name: String) throws -> UUID {
        guard let text = self.get(name), let id = UUID(uuidString: text) else {
            throw Problem.notFound("\"\(String((self.get(name) ?? "").prefix(64)))\" is not an id of anything here.")
        }
        return id
    }
}
