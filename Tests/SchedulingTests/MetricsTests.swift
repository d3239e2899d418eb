import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite struct MetricsTests {
    @Test func metricsCountRequestsPerRouteAndShowThePoolAndProcess() async throws {
        let app = try await TestApp.make()
        try await app.addUser("counted")
        try await app.test { client async throws in
            _ = try await client.login("counted")
            _ = try await client.login("counted", "wrong")
            _ = try await client.login("counted", "wrong")
            _ = try await client.json(.get, "/api/v1/schools/\(UUID())")
            let response = try await client.json(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            let login = #"method="POST",route="/api/v1/auth/login""#
            #expect(text.contains(#"cloudclass_http_requests_total{service="scheduling",\#(login),status="200"} 1"#))
            #expect(text.contains(#"cloudclass_http_requests_total{service="scheduling",\#(login),status="401"} 2"#))
            #expect(text.contains(#"cloudclass_http_requests_total{service="scheduling",method="GET",route="/api/v1/schools/{id}",status="401"} 1"#))
            #expect(text.contains(#"cloudclass_http_request_duration_seconds_count{service="scheduling",\#(login)} 3"#))
            #expect(text.contains(#"cloudclass_http_request_duration_seconds_bucket{service="scheduling",\#(login),le="10.0"} 3"#))
            for gauge in [
                "cloudclass_db_connections_in_use", "cloudclass_db_requests_waiting", "cloudclass_bcrypt_queue_depth ",
                "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds",
            ] {
                #expect(text.contains("\n\(gauge)") || text.hasPrefix(gauge), "\(gauge)")
            }
        }
    }
}
