import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduling
import Synchronization
import TestSupport
import Testing

/// Enrolling a class derives its seats from the course's lessons while booking, moving and
/// cancelling derive seats from the course's classes. These tests hold an enrolment open just
/// before its commit, run the other write meanwhile, and check the seats afterwards: under READ
/// COMMITTED, without one lock for both, each missed the other's uncommitted half.
@Suite struct EnrollmentRaceTests {
    typealias F = TimetableFixture

    /// Holds the enrolment at its barrier until the other write is done or has waited 1.5 s
    /// (with the lock it waits for the enrolment, so it cannot finish first).
    final class Barrier: Sendable {
        let armed = Mutex(false)
        let inside = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let entered = Mutex(false)
        let otherDone = Mutex(false)

        func hold() async {
            guard armed.withLock({ let was = $0; $0 = false; return was }) else { return }
            entered.withLock { $0 = true }
            for _ in 0..<30 {
                if otherDone.withLock({ $0 }) { return }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        func waitUntilEntered() async throws {
            for _ in 0..<200 {
                if entered.withLock({ $0 }) { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw TestFailure("the enrolment never reached its barrier")
        }
    }

    /// Every scheduled lesson of the course has exactly one seat per enrolled class, at its
    /// own time, and no cancelled lesson keeps a seat.
    func seatsAreExact(_ app: TestApp, course: UUID) async throws {
        let missing = try await app.scalar(
            """
            SELECT count(*) FROM scheduling.lessons l JOIN scheduling.course_classes cc ON cc.course_id = l.course_id
            WHERE l.course_id = \(course) AND l.state = 'scheduled'
              AND NOT EXISTS (SELECT 1 FROM scheduling.class_bookings b WHERE b.lesson_id = l.id AND b.class_id = cc.class_id AND b.during = l.during)
            """, as: Int64.self)
        let stale = try await app.scalar(
            """
            SELECT count(*) FROM scheduling.class_bookings b JOIN scheduling.lessons l ON l.id = b.lesson_id
            WHERE l.course_id = \(course) AND (l.state <> 'scheduled' OR b.during <> l.during)
            """, as: Int64.self)
        #expect(missing == 0, "lessons lacking a seat of an enrolled class")
        #expect(stale == 0, "seats left on cancelled lessons or at old times")
    }

    func race(bookFirst: Bool, _ other: @escaping @Sendable (ConcurrentRequests, String, UUID, UUID?) async throws -> Int) async throws {
        let barrier = Barrier()
        let f = try await F.make { config in config.beforeEnrollmentCommits = { await barrier.hold() } }
        try await f.app.testLive { client async throws in
            let teach = try await client.token("teach")
            let course = try await client.course(teach)
            var lesson: UUID?
            if bookFirst {
                lesson = try await client.book(teach, course: course, F.at(9), F.at(10)).decode(LessonBody.self).id
            }
            let requests = try ConcurrentRequests(client)
            barrier.armed.withLock { $0 = true }
            async let enrolled = requests.send(.post, "/api/v1/courses/\(course)/enrollments", token: teach, body: #"{"class_ids":["\#(f.classA)"]}"#)
            try await barrier.waitUntilEntered()
            let status = try await other(requests, teach, course, lesson)
            barrier.otherDone.withLock { $0 = true }
            #expect(try await enrolled.status == 200)
            #expect((200...201).contains(status))
            try await seatsAreExact(f.app, course: course)
        }
    }

    @Test func aLessonBookedWhileAClassIsEnrolledGetsItsSeat() async throws {
        try await race(bookFirst: false) { requests, teach, course, _ in
            try await requests.send(.post, "/api/v1/lessons", token: teach, body: #"{"course_id":"\#(course)","title":"L","starts_at":"\#(F.at(11))","ends_at":"\#(F.at(12))"}"#).status
        }
    }

    @Test func aLessonCancelledWhileAClassIsEnrolledKeepsNoSeat() async throws {
        try await race(bookFirst: true) { requests, teach, _, lesson in
            try await requests.send(.post, "/api/v1/lessons/\(lesson!)/cancel", token: teach).status
        }
    }

    @Test func aLessonMovedWhileAClassIsEnrolledTakesTheSeatAlong() async throws {
        try await race(bookFirst: true) { requests, teach, _, lesson in
            try await requests.send(.patch, "/api/v1/lessons/\(lesson!)", token: teach, body: #"{"starts_at":"\#(F.at(13))","ends_at":"\#(F.at(14))"}"#).status
        }
    }
}
