import Foundation
import Attendance
import SessionTokens
import Testing

@Suite struct SessionTokenTests {
    static let key = SessionTokenKey(secret: "a secret broadcast and attendance share")
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    static func claims(lesson: UUID = UUID(), pupil: UUID = UUID(), expiresIn: Double = 3600) -> SessionClaims {
        SessionClaims(
            lesson: lesson, pupil: pupil, allocation: UUID(), lessonStartsAt: now.addingTimeInterval(-60), lessonEndsAt: now.addingTimeInterval(2640),
            issuedAt: now, expiresAt: now.addingTimeInterval(expiresIn)
        )
    }

    @Test func aMintedTokenChecksBackToItsClaims() throws {
        let claims = Self.claims()
        let token = SessionToken.mint(claims, key: Self.key)
        #expect(token.count == 172 && !token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(try SessionToken.check(token, key: Self.key, now: Self.now).get() == claims)
    }

    /// The token is standard unpadded base64url (the hand-written codec agrees with Foundation's).
    @Test func theTokenIsPlainBase64URL() throws {
        let token = SessionToken.mint(Self.claims(), key: Self.key)
        var standard = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        let bytes = try #require(Data(base64Encoded: standard))
        #expect(bytes.count == 129 && bytes.first == 1)
        #expect(bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") == token)
    }

    @Test func oneSessionPerLessonAndPupil() {
        let (lesson, pupil) = (UUID(), UUID())
        #expect(SessionToken.sessionID(lesson: lesson, pupil: pupil) == SessionToken.sessionID(lesson: lesson, pupil: pupil))
        #expect(SessionToken.sessionID(lesson: lesson, pupil: pupil) != SessionToken.sessionID(lesson: lesson, pupil: UUID()))
        #expect(SessionToken.sessionID(lesson: lesson, pupil: pupil) != SessionToken.sessionID(lesson: pupil, pupil: lesson), "the order matters")
        #expect(SessionToken.sessionID(lesson: lesson, pupil: pupil).uuidString.dropFirst(14).first == "8", "a version-8 UUID")
    }

    @Test func forgedAlteredExpiredAndMalformedTokensAreRefused() {
        let token = SessionToken.mint(Self.claims(), key: Self.key)
        #expect(SessionToken.check(token, key: SessionTokenKey(secret: "another"), now: Self.now) == .failure(.forged))
        // A character changed anywhere after the version is caught.
        for index in [2, 10, 40, 80, 120, 150] {
            var characters = Array(token)
            characters[index] = characters[index] == "A" ? "B" : "A"
            #expect(SessionToken.check(String(characters), key: Self.key, now: Self.now) == .failure(.forged), "character \(index)")
        }
        #expect(SessionToken.check(token, key: Self.key, now: Self.now.addingTimeInterval(3600)) == .failure(.expired))
        for bad in ["", "abc", String(token.dropLast()), token + "A", String(repeating: "*", count: 172)] {
            #expect(SessionToken.check(bad, key: Self.key, now: Self.now) == .failure(.malformed), "\(bad.prefix(10))")
        }
    }
}

@Suite struct PlayedTimeTests {
    @Test func rangesAreSecondsOfTheLessonAndAMinuteNeedsThirtyOfThem() {
        var played = PlayedTime(lessonSeconds: 45 * 60)
        #expect(played.minutes.count == 45)
        played.add(0..<29)
        #expect(played.watchedMinutes() == 0 && played.secondsPlayed == 29)
        played.add(29..<30)
        #expect(played.watchedMinutes() == 1)
        played.add(90..<185)  // 30 s of minute 1, all of minute 2, 5 s of minute 3
        #expect(played.watchedMinutes() == 3 && played.secondsPlayed == 30 + 95)
        #expect(played.watchedMinutes(threshold: 60) == 1, "the threshold is configurable")
    }

    @Test func theSameSecondsTwiceCountOnce() {
        var tab = PlayedTime(lessonSeconds: 600)
        tab.add(0..<20)
        var other = PlayedTime(lessonSeconds: 600)
        other.add(10..<25)
        tab.formUnion(other)
        #expect(tab.secondsPlayed == 25 && tab.watchedMinutes() == 0, "two tabs over one stretch are not 35 s")
        tab.add(0..<20)
        #expect(tab.secondsPlayed == 25, "a resent beat adds nothing")
    }

    @Test func nothingOutsideTheLessonIsKept() {
        var played = PlayedTime(lessonSeconds: 120)
        played.add(-50..<10)
        played.add(110..<500)
        #expect(played.secondsPlayed == 20 && played.minutes.count == 2)
    }

    @Test func onlyNewSecondsAreWritten() {
        var before = PlayedTime(lessonSeconds: 300)
        before.add(0..<90)
        var after = before
        after.add(60..<70)
        #expect(after.added(to: before).isEmpty)
        after.add(200..<210)
        #expect(after.added(to: before).map(\.minute) == [3])
    }
}
