import Attendance
import Bandwidth
import Scheduling
import ServiceKit

/// The platform's services, in start order: the one list `serve`, `up` and the tests iterate.
/// Adding a service is a line here (see docs/architecture.md, "Adding a service").
public enum ServiceCatalog {
    public static let all: [ServiceDescriptor] = [
        SchedulingService.descriptor,
        BandwidthService.descriptor,
        AttendanceService.descriptor,
    ]

    /// Who takes each kind of outbox message.
    public static var subscribers: [String: [ServiceName]] {
        var subscribers: [String: [ServiceName]] = [:]
        for service in all {
            for kind in service.subscriptions { subscribers[kind, default: []].append(service.name) }
        }
        return subscribers
    }

    public static func descriptor(_ name: ServiceName) -> ServiceDescriptor? {
        all.first { $0.name == name }
    }
}
