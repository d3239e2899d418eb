import Crypto
import Foundation

/// One-time codes a school hands to a new user, who types it once to set their own password.
enum ActivationCode {
    /// Upper-case letters and digits a child cannot mistake for one another: no 0/O, 1/I/L,
    /// 2/Z, 5/S, 8/B. 25 symbols, 10 of them: about 46 bits.
    static let alphabet = Array("ACDEFGHJKMNPQRTUVWXY34679")
    static let length = 10
    static let lifetime: TimeInterval = 30 * 86_400
    static let maximumAttempts = 5

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }

    /// What the user typed, as the code it means: case and separators do not matter.
    static func normalize(_ typed: String) -> String {
        guard typed.utf8.count <= 64 else { return "" }
        return String(typed.uppercased().filter { !$0.isWhitespace && $0 != "-" })
    }

    /// The stored form: SHA-256 over the user's id and the code, so equal codes of two users
    /// differ and a leaked table shows no code.
    static func hash(_ code: String, userID: UUID) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data(userID.lowercased.utf8))
        hasher.update(data: Data(normalize(code).utf8))
        return Data(hasher.finalize())
    }

    static func matches(_ typed: String, userID: UUID, storedHash: Data) -> Bool {
        let candidate = hash(typed, userID: userID)
        // Constant time: compare every byte whatever differs first.
        guard candidate.count == storedHash.count else { return false }
        return zip(candidate, storedHash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
