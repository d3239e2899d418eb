import Crypto
import Foundation

/// A bearer secret: refresh tokens, calendar feed tokens, edges' report tokens. Only its SHA-256
/// is stored, and a presented token is checked by comparing digests in constant time, so
/// neither its length nor its prefix leaks.
public enum SecretToken {
    /// 32 random bytes as URL-safe base64 without padding (43 characters).
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// What is kept in place of the token.
    public static func digest(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    /// Whether `token` is the one `digest` was made from.
    public static func matches(_ token: String, digest: some Collection<UInt8>) -> Bool {
        let presented = Self.digest(token)
        guard presented.count == digest.count else { return false }
        return zip(presented, digest).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
