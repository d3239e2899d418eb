import Crypto
import Foundation

/// The key edges check playback URLs with (nginx `secure_link`): broadcast signs the join's URL,
/// attendance the URL of a move (`switch_to`), so both sign here with one secret.
public struct PlaybackSigningKey: Sendable {
    let secret: String

    public init(secret: String) { self.secret = secret }
}

/// A playback URL on one edge for one rendition of one lesson:
/// `<edge>/s/<token>/<expires>/<session>/<stream>/index.m3u8`, where the token is
/// base64url(MD5("<expires>/<session>/<stream> <secret>")) without padding — what
/// `Deploy/nginx/edge.conf` checks. The token lives in the path (segment URLs in the playlist are
/// relative and inherit it; a query would be lost), the session beside it so the edge's log names
/// the session and never the token, and neither is in the edge's cache key.
public enum PlaybackURL {
    /// How long after its lesson's scheduled end a playback URL stays valid (a lesson running a
    /// little over, a pupil finishing the last segments).
    public static let validAfterLesson: TimeInterval = 2 * 3600

    /// The HLS stream of a lesson's rendition, as the origin names it.
    public static func stream(lesson: UUID, rendition: String) -> String {
        "\(lesson.uuidString.lowercased())_\(rendition)"
    }

    /// Valid until `expires` on every segment (so it must outlast the lesson plus a margin).
    public static func sign(edgeBaseURL: String, session: UUID, lesson: UUID, rendition: String, expires: Date, key: PlaybackSigningKey) -> String {
        let stream = stream(lesson: lesson, rendition: rendition)
        let session = session.uuidString.lowercased()
        let expiry = Int64(expires.timeIntervalSince1970.rounded(.up))
        let digest = Insecure.MD5.hash(data: Data("\(expiry)/\(session)/\(stream) \(key.secret)".utf8))
        let token = Base64URL.encode(Array(digest))
        let base = edgeBaseURL.hasSuffix("/") ? String(edgeBaseURL.dropLast()) : edgeBaseURL
        return "\(base)/s/\(token)/\(expiry)/\(session)/\(stream)/index.m3u8"
    }
}
