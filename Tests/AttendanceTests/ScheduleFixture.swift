import Attendance
import Foundation
import HummingbirdTesting
import Scheduling
import ServiceKit
import SessionTokens
import Store
import TestSupport

/// A scheduling service with one school on it, and an attendance service that asks it who
/// should be at a lesson: class 7A (Ann, Bob, Dan; Eve deactivated) takes the course with its
/// class, Cai (no class) by name, Tao teaches it, Oli teaches something else.
struct ScheduleFixture: Sendable {
    let scheduling: ServiceHarness<SchedulingService>
    let course: UUID
    let classID: UUID
    let teacher: UUID
    let otherTeacher: UUID
    let admin: UUID
    let pupils: [String: UUID]

    static func make() async throws -> ScheduleFixture {
        let scheduling = try await ServiceHarness<SchedulingService>.make(.scheduling) { settings, database in
            try await SchedulingService(
                config: try SchedulingConfig(service: settings, signingKeyPEM: TestKeys.signingKeyPEM, bcryptCost: 4, bcryptWorkers: 1, bcryptQueueLimit: 8),
                database: database
            )
        }
        let (school, classID, course) = (UUID(), UUID(), UUID())
        try await scheduling.execute("INSERT INTO scheduling.schools (id, name, code, region) VALUES (\(school), 'No. 1 Middle School', 'no1', '420000')")
        try await scheduling.execute("INSERT INTO scheduling.classes (id, school_id, name, grade) VALUES (\(classID), \(school), '7A', 7)")
        func add(_ name: String, role: Role, class inClass: Bool = false, active: Bool = true) async throws -> UUID {
            let id = UUID()
            let classOf: UUID? = inClass ? classID : nil
            try await scheduling.execute(
                """
                INSERT INTO scheduling.users (id, username, display_name, role, password_hash, active, school_id, class_id)
                VALUES (\(id), \(name.lowercased()), \(name), \(role.rawValue), 'x', \(active), \(school), \(classOf))
                """
            )
            return id
        }
        let teacher = try await add("Tao", role: .teacher)
        let otherTeacher = try await add("Oli", role: .teacher)
        let admin = try await add("Root", role: .admin)
        var pupils: [String: UUID] = [:]
        for name in ["Ann", "Bob", "Dan"] { pupils[name] = try await add(name, role: .student, class: true) }
        pupils["Eve"] = try await add("Eve", role: .student, class: true, active: false)
        pupils["Cai"] = try await add("Cai", role: .student)
        pupils["Fay"] = try await add("Fay", role: .student)  // on no course
        try await scheduling.execute("INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id) VALUES (\(course), 'Maths 7', 'Maths', 7, \(teacher))")
        try await scheduling.execute("INSERT INTO scheduling.course_classes (course_id, class_id) VALUES (\(course), \(classID))")
        try await scheduling.execute("INSERT INTO scheduling.course_students (course_id, student_id) VALUES (\(course), \(pupils["Cai"]!))")
        return ScheduleFixture(
            scheduling: scheduling, course: course, classID: classID, teacher: teacher, otherTeacher: otherTeacher, admin: admin, pupils: pupils
        )
    }

    /// A lesson of the course, `[startsAt, startsAt + length)`, in whole seconds.
    func addLesson(startsAt: Date, length: TimeInterval = 2700, state: String = "scheduled", title: String = "Fractions") async throws -> UUID {
        let id = UUID()
        let endsAt = startsAt.addingTimeInterval(length)
        try await scheduling.execute(
            """
            INSERT INTO scheduling.lessons (id, course_id, teacher_id, title, during, state)
            VALUES (\(id), \(course), \(teacher), \(title), tstzrange(\(startsAt), \(endsAt)), \(state))
            """
        )
        return id
    }

    /// Scheduling live on a port, and an attendance service pointed at it.
    func withAttendance<T: Sendable>(
        _ configure: @escaping @Sendable (inout AttendanceConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (ServiceHarness<AttendanceService>, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await scheduling.testLive { schedulingClient in
            let port = schedulingClient.port!
            let attendance = try await AttendanceFixture.harness {
                $0.service.peers[.scheduling] = URL(string: "http://127.0.0.1:\(port)")!
                configure(&$0)
            }
            return try await attendance.test { client in try await body(attendance, client) }
        }
    }

    func token(_ user: UUID, _ role: Role) async throws -> String { try await TestKeys.accessToken(user: user, role: role) }

    /// The lesson's whole-second start `ago` seconds before now.
    static func start(ago: TimeInterval, now: Date = Date()) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 - ago).rounded(.down))
    }
}

extension TestClientProtocol {
    /// A beat of `pupil`'s session of the lesson, its token issued at the lesson's start.
    func beat(lesson: UUID, startsAt: Date, length: TimeInterval = 2700, pupil: UUID, played: [Range<Int>]) async throws -> TestResponse {
        let now = Date()
        let (claims, token) = AttendanceFixture.session(
            lesson: lesson, pupil: pupil, length: length, issuedAgo: now.timeIntervalSince(startsAt), now: now, startsAt: startsAt
        )
        return try await json(.post, AttendanceFixture.beatPath(claims), body: AttendanceFixture.played(played), token: token)
    }
}
