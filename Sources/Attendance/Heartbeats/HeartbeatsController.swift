import Foundation
import Hummingbird
import ServiceKit
import SessionTokens

/// The answer to a beat: when to beat next, where to play from when the edge is going away,
/// to join again when the place is lost, and whether the lesson is over.
struct BeatAnswer: ResponseEncodable {
    struct SwitchTo: Encodable {
        var playback_url: String
        var edge: String
        var rendition: String
    }

    var heartbeat_seconds: Int
    var switch_to: SwitchTo?
    var rejoin_after_seconds: Int?
    var ended: Bool?
}

/// `POST /api/v1/sessions/{id}/heartbeat` and `…/leave`: the busiest path of the platform.
/// A beat is checked by its token alone (no lookup), merged into the journal, and answered only
/// once the batch holding it has committed.
struct HeartbeatsController: Sendable {
    let config: AttendanceConfig
    let journal: SessionJournal
    let live: LiveSessions
    let lessonEnds: LessonEnds

    func register(on routes: RouteTable) {
        let holders = Callers.custom("session", SessionAuthenticator(key: config.tokenKey))
        routes.post("/api/v1/sessions/:id/heartbeat", for: holders, use: beat)
        routes.post("/api/v1/sessions/:id/leave", for: holders, use: leave)
    }

    @Sendable func beat(_ request: Request, context: CallerContext<SessionHolder>) async throws -> BeatAnswer {
        let claims = context.caller.claims
        let now = Date()
        let body = try await request.decodeJSON(as: BeatBody.self, context: context)
        let beat = try CheckedBeat(body, claims: claims, now: now, slackSeconds: config.claimSlackSeconds)
        let placeChange: LiveSessions.PlaceChange?
        switch live.admitBeat(claims, now: now) {
        case .left:
            throw Problem(.gone, detail: "This viewing session was left; join the lesson again to go on watching.")
        case .tooMany(let retryAfter):
            throw Problem.retryLater(.tooManyRequests, after: Double(retryAfter), detail: "Too many beats for this session; beat every \(config.heartbeatSeconds) s.")
        case .admitted(let change):
            placeChange = change
        }
        try await durably(SessionWrite(claims: claims, at: now, played: beat.played, firstSecond: beat.firstSecond, leaving: false))
        return answer(claims, placeChange, now: now)
    }

    func answer(_ claims: SessionClaims, _ placeChange: LiveSessions.PlaceChange?, now: Date) -> BeatAnswer {
        var answer = BeatAnswer(heartbeat_seconds: config.heartbeatSeconds)
        if lessonEnds.isEnded(claims.lesson) || now > claims.lessonEndsAt.addingTimeInterval(config.endGrace.inSeconds) {
            answer.ended = true
            return answer
        }
        switch placeChange {
        case .moved(let target, _):
            let url = PlaybackURL.sign(
                edgeBaseURL: target.baseURL, session: claims.session, lesson: claims.lesson, rendition: target.rendition,
                expires: claims.lessonEndsAt.addingTimeInterval(PlaybackURL.validAfterLesson), key: config.playbackKey
            )
            answer.switch_to = .init(playback_url: url, edge: target.edgeName, rendition: target.rendition)
        case .rejoin(let after):
            answer.rejoin_after_seconds = after
        case nil:
            break
        }
        return answer
    }

    @Sendable func leave(_ request: Request, context: CallerContext<SessionHolder>) async throws -> HTTPResponse.Status {
        let claims = context.caller.claims
        let now = Date()
        // Leaving twice changes nothing and says so the same way.
        guard live.leave(claims, now: now) else { return .noContent }
        try await durably(SessionWrite(claims: claims, at: now, played: nil, firstSecond: nil, leaving: true))
        return .noContent
    }

    /// Recorded, then waited for until its batch committed; 503 when the store is behind.
    func durably(_ write: SessionWrite) async throws {
        guard !journal.isFull else {
            throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "Attendance is catching up with its store; send this beat again.")
        }
        let sequence = journal.record(write)
        guard await journal.committed(sequence, within: config.commitTimeout) else {
            throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "The beat could not be stored in time; send it again with the next one.")
        }
    }
}

typealias SessionJournal = GroupCommitJournal<SessionWrite>
