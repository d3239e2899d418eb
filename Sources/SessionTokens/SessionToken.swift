import Crypto
import Foundation

/// What a session token says: one pupil's viewing session of one lesson, on one allocation,
/// with the lesson's times (so attendance bounds what a beat may claim without a lookup) and
/// the token's own lifetime.
public struct SessionClaims: Sendable, Equatable {
    public var session: UUID
    public var lesson: UUID
    public var pupil: UUID
    public var allocation: UUID
    public var lessonStartsAt: Date
    public var lessonEndsAt: Date
    public var issuedAt: Date
    public var expiresAt: Date

    /// The claims of `pupil`'s session of `lesson` (its id derived from the pair).
    public init(lesson: UUID, pupil: UUID, allocation: UUID, lessonStartsAt: Date, lessonEndsAt: Date, issuedAt: Date, expiresAt: Date) {
        session = SessionToken.sessionID(lesson: lesson, pupil: pupil)
        self.lesson = lesson
        self.pupil = pupil
        self.allocation = allocation
        self.lessonStartsAt = lessonStartsAt
        self.lessonEndsAt = lessonEndsAt
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// The key broadcast mints with and attendance checks with: a secret both services declare.
public struct SessionTokenKey: Sendable {
    let key: SymmetricKey

    /// From the shared secret's text (any length; it is hashed to 256 bits).
    public init(secret: String) {
        key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
    }
}

/// The session token: a capability for one viewing session, minted by broadcast at join and
/// checked by attendance on every beat. `base64url(payload ‖ tag)`: a version byte, four ids
/// and four times in seconds (97 bytes), then HMAC-SHA256 over them (172 characters in all) —
/// checked in a few microseconds, against ~40 µs for an ES256 user token.
public enum SessionToken {
    static let version: UInt8 = 1
    static let payloadBytes = 1 + 16 * 4 + 8 * 4
    static let tagBytes = 32
    static let encodedLength = ((payloadBytes + tagBytes) * 4 + 2) / 3

    public enum Refusal: Error, Sendable, Equatable {
        /// Not a session token at all.
        case malformed
        /// Its signature does not match: forged, altered, or another key's.
        case forged
        case expired
    }

    /// One session per (lesson, pupil): the same pair always gives the same id, so joining again
    /// returns the same session. SHA-256 of the pair, shaped as a version-8 UUID.
    public static func sessionID(lesson: UUID, pupil: UUID) -> UUID {
        var input = Data("cloudclass viewing session".utf8)
        append(lesson, to: &input)
        append(pupil, to: &input)
        var bytes = Array(SHA256.hash(data: input).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    public static func mint(_ claims: SessionClaims, key: SessionTokenKey) -> String {
        var payload = Data([version])
        payload.reserveCapacity(payloadBytes + tagBytes)
        for id in [claims.session, claims.lesson, claims.pupil, claims.allocation] { append(id, to: &payload) }
        for time in [claims.lessonStartsAt, claims.lessonEndsAt, claims.issuedAt, claims.expiresAt] {
            withUnsafeBytes(of: Int64(time.timeIntervalSince1970.rounded(.down)).bigEndian) { payload.append(contentsOf: $0) }
        }
        let tag = HMAC<SHA256>.authenticationCode(for: payload, using: key.key)
        payload.append(contentsOf: Data(tag))
        return Base64URL.encode(payload)
    }

    /// The claims, once the signature matches and the token has not expired at `now`.
    public static func check(_ token: some StringProtocol, key: SessionTokenKey, now: Date) -> Result<SessionClaims, Refusal> {
        guard token.utf8.count == encodedLength, let bytes = Base64URL.decode(token), bytes.count == payloadBytes + tagBytes, bytes[0] == version
        else { return .failure(.malformed) }
        // Constant time: HMAC's own comparison.
        guard HMAC<SHA256>.isValidAuthenticationCode(bytes.suffix(tagBytes), authenticating: bytes.prefix(payloadBytes), using: key.key) else {
            return .failure(.forged)
        }
        var offset = 1
        func id() -> UUID {
            let slice = Array(bytes[offset..<offset + 16])
            offset += 16
            return UUID(uuid: (slice[0], slice[1], slice[2], slice[3], slice[4], slice[5], slice[6], slice[7],
                               slice[8], slice[9], slice[10], slice[11], slice[12], slice[13], slice[14], slice[15]))
        }
        func time() -> Date {
            let value = bytes[offset..<offset + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            offset += 8
            return Date(timeIntervalSince1970: Double(Int64(bitPattern: value)))
        }
        let (session, lesson, pupil, allocation) = (id(), id(), id(), id())
        let (startsAt, endsAt, issuedAt, expiresAt) = (time(), time(), time(), time())
        guard now < expiresAt else { return .failure(.expired) }
        let claims = SessionClaims(
            lesson: lesson, pupil: pupil, allocation: allocation, lessonStartsAt: startsAt, lessonEndsAt: endsAt, issuedAt: issuedAt, expiresAt: expiresAt
        )
        // The id is signed as sent; a token whose id is not its pair's was not minted here.
        guard claims.session == session else { return .failure(.forged) }
        return .success(claims)
    }

    static func append(_ id: UUID, to data: inout Data) {
        withUnsafeBytes(of: id.uuid) { data.append(contentsOf: $0) }
    }

}

/// Base64url without padding, over bytes: the busiest path decodes a token on every beat, and
/// Foundation's `replacingOccurrences` + `Data(base64Encoded:)` cost more than the HMAC (13% of
/// the attendance process under `bench-beats`).
enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let values: [UInt8] = {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { values[Int(character)] = UInt8(index) }
        return values
    }()

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            out.append(alphabet[Int(first >> 2)])
            out.append(alphabet[Int((first & 0x03) << 4 | (second ?? 0) >> 4)])
            if let second { out.append(alphabet[Int((second & 0x0F) << 2 | (third ?? 0) >> 6)]) }
            if let third { out.append(alphabet[Int(third & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything but unpadded base64url.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value = values[Int(character)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A lone last character (6 bits) or set bits past the end are not base64url.
        guard bits < 6, accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
