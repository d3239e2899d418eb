import Foundation

/// Facts about each region the bandwidth service reasons with: where its capital is (the
/// distance between capitals orders the "nearest regions" a viewer may be served from) and how
/// many people live there (how a simulated national morning spreads its viewers).
///
/// Population: National Bureau of Statistics of China, *Communiqué of the Seventh National
/// Population Census (No. 3): Population by Region*, 11 May 2021 (census date 1 November 2020),
/// in thousands. Capitals: the seat of each region's government, degrees north and east.
public struct RegionFacts: Sendable, Hashable {
    public var code: String
    public var capital: String
    public var latitude: Double
    public var longitude: Double
    /// Thousands of residents at the 2020 census.
    public var population: Int

    public static let all: [RegionFacts] = [
        RegionFacts(code: "110000", capital: "Beijing", latitude: 39.90, longitude: 116.41, population: 21_893),
        RegionFacts(code: "120000", capital: "Tianjin", latitude: 39.13, longitude: 117.20, population: 13_866),
        RegionFacts(code: "130000", capital: "Shijiazhuang", latitude: 38.04, longitude: 114.51, population: 74_610),
        RegionFacts(code: "140000", capital: "Taiyuan", latitude: 37.87, longitude: 112.55, population: 34_915),
        RegionFacts(code: "150000", capital: "Hohhot", latitude: 40.84, longitude: 111.75, population: 24_049),
        RegionFacts(code: "210000", capital: "Shenyang", latitude: 41.80, longitude: 123.43, population: 42_592),
        RegionFacts(code: "220000", capital: "Changchun", latitude: 43.82, longitude: 125.32, population: 24_074),
        RegionFacts(code: "230000", capital: "Harbin", latitude: 45.80, longitude: 126.53, population: 31_851),
        RegionFacts(code: "310000", capital: "Shanghai", latitude: 31.23, longitude: 121.47, population: 24_871),
        RegionFacts(code: "320000", capital: "Nanjing", latitude: 32.06, longitude: 118.80, population: 84_748),
        RegionFacts(code: "330000", capital: "Hangzhou", latitude: 30.27, longitude: 120.16, population: 64_568),
        RegionFacts(code: "340000", capital: "Hefei", latitude: 31.82, longitude: 117.23, population: 61_027),
        RegionFacts(code: "350000", capital: "Fuzhou", latitude: 26.07, longitude: 119.30, population: 41_540),
        RegionFacts(code: "360000", capital: "Nanchang", latitude: 28.68, longitude: 115.86, population: 45_189),
        RegionFacts(code: "370000", capital: "Jinan", latitude: 36.65, longitude: 117.12, population: 101_527),
        RegionFacts(code: "410000", capital: "Zhengzhou", latitude: 34.75, longitude: 113.62, population: 99_366),
        RegionFacts(code: "420000", capital: "Wuhan", latitude: 30.59, longitude: 114.31, population: 57_752),
        RegionFacts(code: "430000", capital: "Changsha", latitude: 28.23, longitude: 112.94, population: 66_445),
        RegionFacts(code: "440000", capital: "Guangzhou", latitude: 23.13, longitude: 113.26, population: 126_013),
        RegionFacts(code: "450000", capital: "Nanning", latitude: 22.82, longitude: 108.37, population: 50_127),
        RegionFacts(code: "460000", capital: "Haikou", latitude: 20.04, longitude: 110.35, population: 10_081),
        RegionFacts(code: "500000", capital: "Chongqing", latitude: 29.56, longitude: 106.55, population: 32_054),
        RegionFacts(code: "510000", capital: "Chengdu", latitude: 30.57, longitude: 104.07, population: 83_675),
        RegionFacts(code: "520000", capital: "Guiyang", latitude: 26.65, longitude: 106.63, population: 38_562),
        RegionFacts(code: "530000", capital: "Kunming", latitude: 25.04, longitude: 102.71, population: 47_209),
        RegionFacts(code: "540000", capital: "Lhasa", latitude: 29.65, longitude: 91.17, population: 3_648),
        RegionFacts(code: "610000", capital: "Xi'an", latitude: 34.34, longitude: 108.94, population: 39_529),
        RegionFacts(code: "620000", capital: "Lanzhou", latitude: 36.06, longitude: 103.83, population: 25_020),
        RegionFacts(code: "630000", capital: "Xining", latitude: 36.62, longitude: 101.78, population: 5_924),
        RegionFacts(code: "640000", capital: "Yinchuan", latitude: 38.49, longitude: 106.23, population: 7_202),
        RegionFacts(code: "650000", capital: "Ürümqi", latitude: 43.83, longitude: 87.62, population: 25_852),
    ]

    static let byCode = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    public static func of(_ code: String) -> RegionFacts? { byCode[code] }

    /// Great-circle distance between two capitals in kilometres (haversine, mean Earth radius).
    public func distance(to other: RegionFacts) -> Double {
        let radians = Double.pi / 180
        let dLat = (other.latitude - latitude) * radians
        let dLon = (other.longitude - longitude) * radians
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(latitude * radians) * cos(other.latitude * radians) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * 6371 * atan2(a.squareRoot(), (1 - a).squareRoot())
    }
}
