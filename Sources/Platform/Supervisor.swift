import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How to start one of `up`'s processes and tell that it is ready.
struct ChildSpec: Sendable {
    var name: String
    var arguments: [String]
    var environment: [String: String]
    var logFile: String
    /// Polled after a start until it answers `readyStatus`; without one (a program that serves
    /// nothing, like an edge agent) it is ready once it has run for a moment.
    var readyURL: URL?
    var readyStatus: Int
}

/// Keeps `up`'s processes running: starts them in order, and when one dies unexpectedly plans
/// its restart with a growing delay, capped: a process that keeps dying is retried every minute
/// and never takes the others (the gateway, the database, the other services) down with it.
final class Supervisor {
    struct Plan: Equatable {
        var afterSeconds: Int
        /// It died more often within `window` than the backoff has steps: worth a louder report.
        var keepsDying: Bool
    }

    /// Restart delays in seconds for the deaths within `window`; past the last, the last.
    let backoff = [1, 2, 4, 8, 16, 30, 60]
    let window: TimeInterval = 300
    let onExit: @Sendable (ChildProcess) -> Void
    private(set) var order: [String] = []
    private var specs: [String: ChildSpec] = [:]
    private var running: [String: ChildProcess] = [:]
    private var restarts: [String: [Date]] = [:]

    init(onExit: @escaping @Sendable (ChildProcess) -> Void) {
        self.onExit = onExit
    }

    /// Starts `spec`'s process and waits until it is ready.
    @discardableResult
    func start(_ spec: ChildSpec) async throws -> ChildProcess {
        if specs[spec.name] == nil { order.append(spec.name) }
        specs[spec.name] = spec
        let child = try ChildProcess(
            name: spec.name, arguments: spec.arguments, environment: spec.environment, logFile: spec.logFile, onExit: onExit
        )
        running[spec.name] = child
        try await Self.waitUntilReady(child, spec: spec)
        return child
    }

    func restart(_ name: String) async throws {
        guard let spec = specs[name] else { return }
        try await start(spec)
    }

    /// Whether `child` is the live instance of its process (not one already replaced or stopped).
    func isCurrent(_ child: ChildProcess) -> Bool {
        running[child.name] === child
    }

    func plan(afterExitOf name: String, now: Date = Date()) -> Plan {
        let recent = (restarts[name] ?? []).filter { now.timeIntervalSince($0) < window }
        restarts[name] = recent + [now]
        return Plan(afterSeconds: backoff[min(recent.count, backoff.count - 1)], keepsDying: recent.count >= backoff.count - 1)
    }

    /// Stops every process, the last started first.
    func stopAll(say: (String) -> Void) {
        for name in order.reversed() {
            guard let child = running.removeValue(forKey: name), child.isRunning else { continue }
            say("stopping \(name)")
            child.stop()
        }
    }

    static func waitUntilReady(_ child: ChildProcess, spec: ChildSpec) async throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard child.isRunning else {
                throw PlatformRunner.StartupFailure(description: "\(child.name) exited (status \(child.exitStatus)) while starting:\n\(child.lastLogLines())")
            }
            guard let readyURL = spec.readyURL else {
                try await Task.sleep(for: .milliseconds(300))
                if child.isRunning { return }
                continue
            }
            if let answer = try? await URLSession.shared.data(from: readyURL),
                (answer.1 as? HTTPURLResponse)?.statusCode == spec.readyStatus
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        child.stop()
        throw PlatformRunner.StartupFailure(description: "\(child.name) did not answer \(spec.readyURL?.absoluteString ?? "") within 60 s:\n\(child.lastLogLines())")
    }
}
