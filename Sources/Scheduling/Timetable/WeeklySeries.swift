import Foundation

/// A weekly rule in a time zone, and the lessons it makes.
struct WeeklySeries: Sendable {
    /// ISO weekdays: 1 is Monday, 7 is Sunday.
    var weekdays: Set<Int>
    var startTime: LocalTime
    var durationMinutes: Int
    var firstDate: LocalDate
    var lastDate: LocalDate
    var timeZone: TimeZone
    var exceptDates: Set<LocalDate>

    /// Every lesson of the series, in order. Each starts at `startTime` on its day in the series'
    /// zone: a start that does not exist (the clocks jump forward over it) moves forward by the
    /// gap; one that exists twice (the clocks go back) takes the first.
    func occurrences() -> [Slot] {
        var slots: [Slot] = []
        var day = firstDate
        while day <= lastDate {
            if weekdays.contains(day.isoWeekday) && !exceptDates.contains(day) {
                let starts = Self.instant(of: day, at: startTime, in: timeZone)
                slots.append(Slot(starts: starts, ends: starts.addingTimeInterval(TimeInterval(durationMinutes * 60))))
            }
            day = day.adding(days: 1)
        }
        return slots
    }

    /// The instant a wall-clock time on a date names in `zone`.
    static func instant(of day: LocalDate, at time: LocalTime, in zone: TimeZone) -> Date {
        // The wall time read as if it were UTC; the zone's offset is then found by trying the
        // offsets in force a day before and a day after (no zone moves twice in two days).
        let wall = TimeInterval(day.daysSinceEpoch * 86_400 + time.secondsIntoDay)
        let before = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let after = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let candidates = [wall - before, wall - after].filter { candidate in
            TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: candidate))) == wall - candidate
        }
        if let first = candidates.min() { return Date(timeIntervalSince1970: first) }
        // In the gap: read with the offset before the jump, which lands the gap's length later.
        return Date(timeIntervalSince1970: wall - before)
    }
}

/// A calendar date without a zone, `YYYY-MM-DD`.
struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // Digits only ("+999" parses as an Int) and years 1 to 9999: PostgreSQL refuses year 0.
        guard text.utf8.count == 10, text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...9999).contains(year), (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil-from-days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// The date of `instant` in `zone`.
    init(_ instant: Date, in zone: TimeZone) {
        let local = Int(instant.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: instant)
        self.init(daysSinceEpoch: Int((Double(local) / 86_400).rounded(.down)))
    }

    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 1 (Monday) … 7 (Sunday); 1970-01-01 was a Thursday.
    var isoWeekday: Int { ((daysSinceEpoch % 7 + 7) % 7 + 3) % 7 + 1 }

    func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    var description: String {
        String(year) + "-" + (month < 10 ? "0" : "") + String(month) + "-" + (day < 10 ? "0" : "") + String(day)
    }

    static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A wall-clock time, `HH:MM` or `HH:MM:SS`.
struct LocalTime: Sendable, Equatable {
    var secondsIntoDay: Int

    /// The wall-clock time of `instant` in `zone`.
    init(of instant: Date, in zone: TimeZone) {
        let local = Int(instant.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: instant)
        secondsIntoDay = ((local % 86_400) + 86_400) % 86_400
    }

    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(parts.count), text.count == parts.count * 3 - 1, parts.allSatisfy({ $0 != nil }) else { return nil }
        let (hour, minute, second) = (parts[0]!, parts[1]!, parts.count == 3 ? parts[2]! : 0)
        guard (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        secondsIntoDay = hour * 3600 + minute * 60 + second
    }
}
