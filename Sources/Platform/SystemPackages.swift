import Foundation

/// The Debian packages the platform runs on, installed with apt when missing (as root).
public enum SystemPackages {
    /// What `up` and the tests need today; the media issues add nginx-rtmp, ffmpeg and Chromium.
    public static let required = ["postgresql", "nginx", "libpq-dev", "libssl-dev"]

    public static func missing(_ packages: [String] = required) -> [String] {
        packages.filter { package in
            let status = try? Shell.run(["dpkg-query", "-W", "-f=${Status}", package])
            return status?.hasSuffix("install ok installed") != true
        }
    }

    /// Installs what is missing; says exactly what to install when it cannot.
    public static func ensureInstalled(_ packages: [String] = required, log: (String) -> Void) throws {
        let missing = missing(packages)
        guard !missing.isEmpty else { return }
        guard Shell.isRoot else {
            throw Shell.Failure(
                command: "apt-get install",
                status: 1,
                output: "missing packages: \(missing.joined(separator: " ")); install them with: sudo apt-get install -y \(missing.joined(separator: " "))"
            )
        }
        log("installing \(missing.joined(separator: " ")) with apt-get (once)")
        let environment = ProcessInfo.processInfo.environment.merging(["DEBIAN_FRONTEND": "noninteractive"]) { $1 }
        try Shell.run(["apt-get", "update", "-q"], environment: environment)
        try Shell.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold"] + missing,
            environment: environment
        )
        // Debian starts the packaged nginx on install; the platform runs its own on its own port.
        _ = try? Shell.run(["service", "nginx", "stop"])
    }
}
