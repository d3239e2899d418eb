import Foundation
import ServiceKit

/// Which service serves which public path: the one table the nginx gateway is generated from,
/// made of the services' descriptors. Regexes are tried in order: every service's own routes in
/// the order the services are listed, then the fallbacks (scheduling's catch-all of `/api/v1/`).
public struct GatewayRoutes: Sendable {
    public struct Route: Sendable {
        public var service: ServiceName
        public var route: ServiceDescriptor.GatewayRoute
    }

    public let routes: [Route]

    public init(services: [ServiceDescriptor]) {
        let all = services.flatMap { service in service.gatewayRoutes.map { Route(service: service.name, route: $0) } }
        routes = all.filter { !$0.route.isFallback } + all.filter(\.route.isFallback)
    }

    /// Paths the gateway never forwards, whatever service would serve them.
    public static let hiddenPattern = "^/(internal|media|metrics)(/|$)"

    /// The service a request path reaches through the gateway, or nil (the gateway answers 404).
    public func service(for path: String) -> ServiceName? {
        if path.range(of: Self.hiddenPattern, options: .regularExpression) != nil { return nil }
        return routes.first { path.range(of: $0.route.pattern, options: .regularExpression) != nil }?.service
    }
}

/// The nginx configuration of the gateway: one origin on 127.0.0.1, routing `/api/v1/...` to
/// the services by prefix, answering its own errors as problem+json (RUNNING.md).
public struct GatewayConfig: Sendable {
    public var port: Int
    public var routes: GatewayRoutes
    public var upstreams: [ServiceName: URL]
    /// Folder for nginx's pid and temp files.
    public var prefix: String
    /// Folder of `gateway-access.log` and `gateway-error.log`.
    public var logFolder: String
    /// The unprivileged user nginx's workers run as when started by root.
    public var workerUser: String?
    public var limits = Limits()

    /// Sized for a school of thousands behind one NAT address, and for the long-lived event
    /// streams of the administrators' view (which `send_timeout` does not cut: they send a
    /// heartbeat well within it).
    public struct Limits: Sendable {
        public var workerConnections = 8192
        /// Each proxied request holds two descriptors (client and upstream), plus logs.
        public var openFiles: Int { workerConnections * 2 + 64 }
        /// Simultaneous connections from one client address (a school's NAT): browsers open a
        /// few each, so this lets about a thousand pupils in at once.
        public var connectionsPerAddress = 4096
        /// Seconds a client may take to send its headers, between two reads of a body, and
        /// between two writes of an answer.
        public var headerTimeout = 10
        public var bodyTimeout = 30
        public var sendTimeout = 30
        public var keepaliveTimeout = 65
        public init() {}
    }

    public init(port: Int, routes: GatewayRoutes, upstreams: [ServiceName: URL], prefix: String, logFolder: String, workerUser: String?) {
        self.port = port
        self.routes = routes
        self.upstreams = upstreams
        self.prefix = prefix
        self.logFolder = logFolder
        self.workerUser = workerUser
    }

    static func problem(_ status: Int, _ title: String, _ detail: String) -> String {
        #"{"type":"about:blank","title":"\#(title)","status":\#(status),"detail":"\#(detail)"}"#
    }

    static let errorPages: [(status: Int, title: String, detail: String)] = [
        (404, "Not Found", "No resource at this path."),
        (413, "Content Too Large", "The request body is larger than this route accepts."),
        (429, "Too Many Requests", "Too many connections from your network at once; try again shortly."),
        (502, "Bad Gateway", "The service behind this path is not answering; try again shortly."),
        (504, "Gateway Timeout", "The service behind this path took too long to answer."),
    ]

    public func render() -> String {
        let upstreamBlocks = ServiceName.allCases.compactMap { service -> String? in
            guard let url = upstreams[service] else { return nil }
            return """
                upstream \(service.rawValue) {
                    server \(url.host ?? "127.0.0.1"):\(url.port ?? service.defaultPort);
                    keepalive 64;
                    # nginx closes a kept-alive upstream connection after 1,000 requests by default.
                    keepalive_requests 100000;
                    keepalive_time 1h;
                }
            """
        }.joined(separator: "\n")
        let routeBlocks = routes.routes.filter { upstreams[$0.service] != nil }.map { entry in
            var lines = ["proxy_pass http://\(entry.service.rawValue);"]
            if let limit = entry.route.maximumBodyBytes { lines.append("client_max_body_size \(limit);") }
            if entry.route.streaming {
                // Server-sent events: each event goes out as it comes, and a quiet stream is not cut.
                lines += ["proxy_buffering off;", "proxy_cache off;", "proxy_read_timeout 24h;"]
            }
            return """
                        location ~ \(entry.route.pattern) {
                \(lines.map { "                \($0)" }.joined(separator: "\n"))
                        }
                """
        }.joined(separator: "\n")
        let errorBlocks = Self.errorPages.map { page in
            """
                    location @problem\(page.status) {
                        default_type application/problem+json;
                        add_header X-Request-ID $cc_request_id always;\(page.status == 429 ? "\n                add_header Retry-After 1 always;" : "")
                        return \(page.status) '\(Self.problem(page.status, page.title, page.detail))';
                    }
            """
        }.joined(separator: "\n")
        let errorPageLines = Self.errorPages.map { "        error_page \($0.status) @problem\($0.status);" }.joined(separator: "\n")
        let redactions = routes.routes.compactMap { entry in entry.route.loggedPath.map { "        ~\(entry.route.pattern) \"\($0)\";" } }
            .joined(separator: "\n")
        return """
            # Generated by `cloudclass up` from GatewayRoutes; edits are overwritten.
            \(workerUser.map { "user \($0);" } ?? "")
            worker_processes auto;
            daemon off;
            pid \(prefix)/nginx.pid;
            error_log \(logFolder)/gateway-error.log warn;
            worker_rlimit_nofile \(limits.openFiles);
            events { worker_connections \(limits.workerConnections); }
            http {
                # Paths that are credentials are logged as their route; query strings never are.
                map $request_uri $cc_logged_path {
            \(redactions)
                    default $uri;
                }
                log_format cloudclass '$remote_addr [$time_iso8601] "$request_method $cc_logged_path $server_protocol" '
                                      '$status $body_bytes_sent $request_time "$http_user_agent" $cc_request_id';
                # Buffered: one write per 64 KiB or second, not one per request.
                access_log \(logFolder)/gateway-access.log cloudclass buffer=64k flush=1s;
                client_header_timeout \(limits.headerTimeout)s;
                client_body_timeout \(limits.bodyTimeout)s;
                send_timeout \(limits.sendTimeout)s;
                keepalive_timeout \(limits.keepaliveTimeout)s;
                keepalive_requests 10000;
                reset_timedout_connection on;
                limit_conn_zone $binary_remote_addr zone=per_address:10m;
                limit_conn_status 429;
                limit_conn_log_level warn;
                client_body_temp_path \(prefix)/tmp/body;
                proxy_temp_path \(prefix)/tmp/proxy;
                fastcgi_temp_path \(prefix)/tmp/fastcgi;
                uwsgi_temp_path \(prefix)/tmp/uwsgi;
                scgi_temp_path \(prefix)/tmp/scgi;
                server_tokens off;
                client_max_body_size 1m;
                map $http_x_request_id $cc_request_id {
                    default $http_x_request_id;
                    "" $request_id;
                }
            \(upstreamBlocks)
                server {
                    listen 127.0.0.1:\(port);
                    limit_conn per_address \(limits.connectionsPerAddress);
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $remote_addr;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_set_header X-Request-ID $cc_request_id;
                    proxy_read_timeout 60s;
            \(errorPageLines)
                    location ~ \(GatewayRoutes.hiddenPattern) {
                        return 404;
                    }
            \(routeBlocks)
                    location / {
                        return 404;
                    }
            \(errorBlocks)
                }
            }

            """
    }
}
