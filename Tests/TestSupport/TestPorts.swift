import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ports for servers a test starts at an address it must know beforehand (a child process, a
/// peer that restarts on the same port). Below Linux's ephemeral range (32768–60999): a port in
/// it can be taken at any moment by a client socket, and a client connecting to a port in it
/// where nothing listens can connect to itself (TCP's simultaneous open) and then hold the port
/// — a restarted peer failed to bind that way and its test waited forever. Each call gives
/// another port, free when checked.
public enum TestPorts {
    private static let next = Mutex(Int.random(in: 0..<10_000))

    public static func reserve() -> Int {
        while true {
            let port = next.withLock { offset in
                offset = (offset + 1) % 20_000
                return 12_000 + offset
            }
            if isFree(port) { return port }
        }
    }

    static func isFree(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
