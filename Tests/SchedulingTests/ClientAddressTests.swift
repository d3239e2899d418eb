import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduling
import TestSupport
import Testing

/// Failed sign-ins are also counted per client address; X-Forwarded-For names that address
/// only when the gateway (a trusted proxy) sent it.
@Suite struct ClientAddressTests {
    static func smallAddressBudget(_ config: inout SchedulingConfig) {
        // Three free failures, then a long wait, so a slow test machine cannot outlast it.
        var policy = LoginThrottle.Policy.perAddress
        policy.freeFailures = 3
        policy.firstDelay = 60
        policy.maximumDelay = 60
        policy.forgivenPerSecond = 0.001
        config.addressThrottle = policy
    }

    @Test func failuresFromOneForwardedAddressSlowThatAddressOnly() async throws {
        let app = try await TestApp.make(Self.smallAddressBudget)
        try await app.addUser("pupil")
        try await app.testLive { client async throws in
            func login(_ username: String, _ password: String, from address: String) async throws -> TestResponse {
                try await client.json(
                    .post, "/api/v1/auth/login", body: #"{"username":"\#(username)","password":"\#(password)"}"#,
                    headers: [.xForwardedFor: address]
                )
            }
            for index in 0..<4 {
                #expect(try await login("guess\(index)", "x", from: "203.0.113.7").status == .unauthorized)
            }
            // Another username from the same address waits…
            let limited = try await login("pupil", TestApp.password, from: "203.0.113.7")
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.problem().detail.contains("network"))
            // …while another school's address signs in.
            #expect(try await login("pupil", TestApp.password, from: "198.51.100.20").status == .ok)
        }
    }

    @Test func forwardedForFromAnUntrustedPeerIsIgnored() async throws {
        let app = try await TestApp.make {
            Self.smallAddressBudget(&$0)
            $0.service.trustedProxies = []
        }
        try await app.addUser("pupil")
        try await app.testLive { client async throws in
            // Each request claims a new address, but all come from 127.0.0.1, which is what counts.
            for index in 0..<4 {
                let response = try await client.json(
                    .post, "/api/v1/auth/login", body: #"{"username":"guess\#(index)","password":"x"}"#,
                    headers: [.xForwardedFor: "192.0.2.\(index)"]
                )
                #expect(response.status == .unauthorized)
            }
            let limited = try await client.json(
                .post, "/api/v1/auth/login", body: #"{"username":"pupil","password":"\#(TestApp.password)"}"#,
                headers: [.xForwardedFor: "192.0.2.99"]
            )
            #expect(limited.status == .tooManyRequests)
        }
    }
}
