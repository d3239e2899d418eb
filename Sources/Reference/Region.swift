/// Mainland China's 31 provincial-level regions by GB/T 2260 code: reference data every service
/// may use without asking another (scheduling's `regions` table holds the same rows; a test
/// keeps them equal).
public struct Region: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var nameZH: String

    public init(code: String, name: String, nameZH: String) {
        self.code = code
        self.name = name
        self.nameZH = nameZH
    }

    public static let all: [Region] = [
        Region(code: "110000", name: "Beijing", nameZH: "北京"),
        Region(code: "120000", name: "Tianjin", nameZH: "天津"),
        Region(code: "130000", name: "Hebei", nameZH: "河北"),
        Region(code: "140000", name: "Shanxi", nameZH: "山西"),
        Region(code: "150000", name: "Inner Mongolia", nameZH: "内蒙古"),
        Region(code: "210000", name: "Liaoning", nameZH: "辽宁"),
        Region(code: "220000", name: "Jilin", nameZH: "吉林"),
        Region(code: "230000", name: "Heilongjiang", nameZH: "黑龙江"),
        Region(code: "310000", name: "Shanghai", nameZH: "上海"),
        Region(code: "320000", name: "Jiangsu", nameZH: "江苏"),
        Region(code: "330000", name: "Zhejiang", nameZH: "浙江"),
        Region(code: "340000", name: "Anhui", nameZH: "安徽"),
        Region(code: "350000", name: "Fujian", nameZH: "福建"),
        Region(code: "360000", name: "Jiangxi", nameZH: "江西"),
        Region(code: "370000", name: "Shandong", nameZH: "山东"),
        Region(code: "410000", name: "Henan", nameZH: "河南"),
        Region(code: "420000", name: "Hubei", nameZH: "湖北"),
        Region(code: "430000", name: "Hunan", nameZH: "湖南"),
        Region(code: "440000", name: "Guangdong", nameZH: "广东"),
        Region(code: "450000", name: "Guangxi", nameZH: "广西"),
        Region(code: "460000", name: "Hainan", nameZH: "海南"),
        Region(code: "500000", name: "Chongqing", nameZH: "重庆"),
        Region(code: "510000", name: "Sichuan", nameZH: "四川"),
        Region(code: "520000", name: "Guizhou", nameZH: "贵州"),
        Region(code: "530000", name: "Yunnan", nameZH: "云南"),
        Region(code: "540000", name: "Tibet", nameZH: "西藏"),
        Region(code: "610000", name: "Shaanxi", nameZH: "陕西"),
        Region(code: "620000", name: "Gansu", nameZH: "甘肃"),
        Region(code: "630000", name: "Qinghai", nameZH: "青海"),
        Region(code: "640000", name: "Ningxia", nameZH: "宁夏"),
        Region(code: "650000", name: "Xinjiang", nameZH: "新疆"),
    ]

    static let byCode = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The region with this code, nil when there is none.
    public static func named(_ code: String) -> Region? { byCode[code] }
}
