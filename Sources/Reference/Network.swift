/// The operator networks a viewer or an edge sits on. Traffic between two of them is slow and
/// costly, so edges are chosen on the viewer's own network first.
public enum Network: String, Sendable, CaseIterable, Codable {
    case telecom, unicom, mobile, cernet

    public var name: String {
        switch self {
        case .telecom: "China Telecom"
        case .unicom: "China Unicom"
        case .mobile: "China Mobile"
        case .cernet: "CERNET"
        }
    }

    public var nameZH: String {
        switch self {
        case .telecom: "中国电信"
        case .unicom: "中国联通"
        case .mobile: "中国移动"
        case .cernet: "中国教育和科研计算机网"
        }
    }
}
