import ArgumentParser
import Platform

struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Install the Debian packages the platform and its tests need (as root).")

    func run() throws {
        try SystemPackages.ensureInstalled { print($0) }
        print("system packages: \(SystemPackages.required.joined(separator: ", ")) installed")
    }
}
