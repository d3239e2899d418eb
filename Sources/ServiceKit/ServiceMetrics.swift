import Foundation
import Synchronization
import Hummingbird
import Prometheus
import Store

/// A service's Prometheus metrics, served at `/metrics` on its own port (never through the
/// gateway): requests and latency per route, the database pool, and process figures.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let service: String
    /// Gauges read when scraped, e.g. the bcrypt queue's depth.
    let sampled: [(gauge: Gauge, read: @Sendable () -> Double)]

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// A figure read at each scrape, e.g. the bcrypt queue's depth.
    public struct SampledGauge: Sendable {
        public var name: String
        public var help: String
        public var read: @Sendable () -> Double

        public init(_ name: String, help: String, read: @escaping @Sendable () -> Double) {
            self.name = name
            self.help = help
            self.read = read
        }
    }

    /// - Parameter gauges: extra figures sampled at each scrape.
    public init(service: String, database: Database, gauges: [SampledGauge] = []) {
        self.service = service
        let registry = self.registry
        func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help))
        }
        var sampled: [(Gauge, @Sendable () -> Double)] = [
            (gauge("cloudclass_db_connections", "in_use", "PostgreSQL connections leased now"), { Double(database.connectionsInUse) }),
            (gauge("cloudclass_db_requests", "waiting", "Requests waiting for a PostgreSQL connection"), { Double(database.requestsWaiting) }),
            (gauge("process_resident_memory", "bytes", "Resident memory"), { ProcessFigures.current().residentBytes }),
            (gauge("process_cpu_seconds", "total", "User and system CPU time"), { ProcessFigures.current().cpuSeconds }),
            (gauge("process_open", "fds", "Open file descriptors"), { ProcessFigures.current().openFiles }),
            (gauge("process_start_time", "seconds", "Start time since the epoch"), { ProcessFigures.startTime }),
        ]
        for extra in gauges {
            sampled.append((registry.makeGauge(descriptor: MetricNameDescriptor(metricName: extra.name, unitName: "", helpText: extra.help)), extra.read))
        }
        self.sampled = sampled
    }

    struct SeriesKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    /// The counter and histogram of each (method, route, status), made once: asking the
    /// registry builds a label key and takes its lock on every request (a profile showed it).
    /// Bounded, since routes are patterns and statuses few.
    private let series = Mutex<[SeriesKey: (counter: Counter, histogram: DurationHistogram)]>([:])

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = SeriesKey(method: method, route: route, status: status)
        let found = series.withLock { $0[key] } ?? makeSeries(key)
        found.counter.increment()
        found.histogram.recordNanoseconds(duration.nanoseconds)
    }

    private func makeSeries(_ key: SeriesKey) -> (counter: Counter, histogram: DurationHistogram) {
        let labels = [("service", service), ("method", key.method), ("route", key.route), ("status", String(key.status))]
        let made = (
            counter: registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: "cloudclass_http_requests", unitName: "total", helpText: "HTTP requests answered"),
                labels: labels
            ),
            histogram: registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(metricName: "cloudclass_http_request_duration", unitName: "seconds", helpText: "Time to answer"),
                labels: Array(labels.prefix(3)),
                buckets: Self.buckets
            )
        )
        series.withLock { $0[key] = made }
        return made
    }

    /// The exposition text, with the sampled gauges read now.
    public func render() -> String {
        for (gauge, read) in sampled { gauge.set(read()) }
        return registry.emitToString()
    }

    public func register(on routes: RouteTable) {
        routes.get("/metrics", for: .anyone) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: self.render()))
            )
        }
    }
}

/// Counts every answer by method, route pattern and status, and times it.
public struct MetricsMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let metrics: ServiceMetrics

    public init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.recordRequest(
            method: request.method.rawValue,
            route: context.endpointPath ?? "unmatched",
            status: response.status.code,
            duration: ContinuousClock.now - started
        )
        return response
    }
}

/// This process's figures from /proc (Linux).
struct ProcessFigures {
    var residentBytes: Double
    var cpuSeconds: Double
    var openFiles: Double

    static let startTime = Date().timeIntervalSince1970
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    static func current() -> ProcessFigures {
        var figures = ProcessFigures(residentBytes: 0, cpuSeconds: 0, openFiles: 0)
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) { figures.residentBytes = pages * pageSize }
        }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") {
            // Fields after the command name: state is 3rd, utime 14th, stime 15th of the whole line.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                figures.cpuSeconds = (user + system) / ticksPerSecond
            }
        }
        figures.openFiles = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        return figures
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
