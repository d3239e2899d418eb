import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Real parallel connections against a live server: PostgreSQL's constraints, not Swift code,
/// decide which of many simultaneous bookings wins.
@Suite struct BookingConcurrencyTests {
    typealias F = TimetableFixture
    static let parallel = 20

    func statuses(_ results: [(status: Int, retryAfter: String?, body: Data)]) -> [Int: Int] {
        results.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
    }

    @Test func twentyBookingsOfOneSlotMakeExactlyOneLesson() async throws {
        let f = try await F.make()
        try await f.app.testLive { client async throws in
            let teach = try await client.token("teach")
            let courses = try await (0..<3).asyncMap { _ in try await client.course(teach) }
            let slot = (F.at(9), F.at(10))
            let results = try await ConcurrentRequests(client).post(
                "/api/v1/lessons", count: Self.parallel, headers: { _ in ["Authorization": "Bearer \(teach)"] },
                body: { #"{"course_id":"\#(courses[$0 % 3])","title":"Rush","starts_at":"\#(slot.0)","ends_at":"\#(slot.1)"}"# })
            #expect(statuses(results) == [201: 1, 409: Self.parallel - 1])
            #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.lessons", as: Int64.self) == 1)
        }
    }

    @Test func twentyTeachersBookingOneClassAtOnceMakeExactlyOneLesson() async throws {
        let f = try await F.make()
        for index in 0..<Self.parallel { try await f.app.addUser("t\(index)", role: .teacher, school: f.school) }
        try await f.app.testLive { client async throws in
            var tokens: [String] = []
            var courses: [UUID] = []
            for index in 0..<Self.parallel {
                let token = try await client.token("t\(index)")
                tokens.append(token)
                courses.append(try await client.course(token, classes: [f.classA]))
            }
            let (tokensSnapshot, coursesSnapshot) = (tokens, courses)
            let results = try await ConcurrentRequests(client).post(
                "/api/v1/lessons", count: Self.parallel, headers: { ["Authorization": "Bearer \(tokensSnapshot[$0])"] },
                body: { #"{"course_id":"\#(coursesSnapshot[$0])","title":"Clash","starts_at":"\#(F.at(9))","ends_at":"\#(F.at(9, 40))"}"# })
            #expect(statuses(results) == [201: 1, 409: Self.parallel - 1])
            #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.class_bookings", as: Int64.self) == 1)
        }
    }

    @Test func twentyOverlappingSeriesAtOnceBookExactlyOneSeries() async throws {
        let f = try await F.make()
        try await f.app.testLive { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let first = F.at(day: 1, 0).prefix(10)
            let last = F.at(day: 30, 0).prefix(10)
            let results = try await ConcurrentRequests(client).post(
                "/api/v1/lesson-series", count: Self.parallel, headers: { _ in ["Authorization": "Bearer \(teach)"] },
                body: { index in
                    // Every series holds Wednesdays at 10:00 plus one other day: all overlap.
                    #"{"course_id":"\#(maths)","title":"S\#(index)","weekdays":[3,\#(index % 2 == 0 ? 1 : 5)],"start_time":"10:00","duration_minutes":45,"first_date":"\#(first)","last_date":"\#(last)","timezone":"Asia/Shanghai"}"#
                })
            #expect(statuses(results) == [201: 1, 409: Self.parallel - 1], "\(results.filter { $0.status == 503 }.map { String(decoding: $0.body, as: UTF8.self) }.first ?? "")")
            #expect(try await f.app.scalar("SELECT count(DISTINCT series_id) FROM scheduling.lessons", as: Int64.self) == 1)
        }
    }

    @Test func twentyIdenticalRequestsInFlightWithOneKeyBookOneLesson() async throws {
        let f = try await F.make()
        try await f.app.testLive { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let results = try await ConcurrentRequests(client).post(
                "/api/v1/lessons", count: Self.parallel, headers: { _ in ["Authorization": "Bearer \(teach)", "Idempotency-Key": "double-click"] },
                body: { _ in #"{"course_id":"\#(maths)","title":"Once","starts_at":"\#(F.at(11))","ends_at":"\#(F.at(12))"}"# })
            #expect(statuses(results) == [201: Self.parallel])
            let ids = Set(try results.map { try JSONDecoder().decode(LessonID.self, from: $0.body).id })
            #expect(ids.count == 1)
            #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.lessons", as: Int64.self) == 1)
        }
    }

    struct LessonID: Decodable { var id: UUID }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
