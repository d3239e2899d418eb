import Foundation
import Synchronization

/// A long-running program `up` starts (a service, nginx): in a session of its own, so a Ctrl-C
/// meant for `up` reaches it only through `up`; output to a log file, never to `up`'s terminal.
/// A thread of its own waits for it to exit.
public final class ChildProcess: Sendable {
    public let name: String
    public let logFile: String
    public let pid: pid_t
    private let exitStatusBox = Mutex<Int32?>(nil)

    public init(
        name: String,
        arguments: [String],
        environment: [String: String],
        logFile: String,
        onExit: @escaping @Sendable (ChildProcess) -> Void
    ) throws {
        self.name = name
        self.logFile = logFile
        try LogFiles.prepare(logFile)
        self.pid = try Spawn.start(arguments, environment: environment, outputFile: logFile, newSession: true)
        let thread = Thread { [self] in
            let status = Spawn.wait(pid)
            exitStatusBox.withLock { $0 = status }
            onExit(self)
        }
        thread.start()
    }

    public var isRunning: Bool { exitStatusBox.withLock { $0 == nil } }
    public var exitStatus: Int32 { exitStatusBox.withLock { $0 ?? -1 } }

    /// Asks it to stop (SIGTERM: graceful), waits up to `timeout` seconds, then kills it.
    public func stop(timeout: Double = 15) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { usleep(20_000) }
        }
    }

    /// The last lines it wrote, for reporting why it died.
    public func lastLogLines(_ count: Int = 20) -> String {
        PlatformRunner.tail(of: logFile, lines: count)
    }
}
