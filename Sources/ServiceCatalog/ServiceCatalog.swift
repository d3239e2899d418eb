import Scheduling
import ServiceKit

/// The platform's services, in start order: the one list `serve`, `up` and the tests iterate.
/// Adding a service is a line here (see docs/architecture.md, "Adding a service").
public enum ServiceCatalog {
    public static let all: [ServiceDescriptor] = [
        SchedulingService.descriptor
    ]

    public static func descriptor(_ name: ServiceName) -> ServiceDescriptor? {
        all.first { $0.name == name }
    }
}
