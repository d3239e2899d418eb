import Foundation

/// A user's lessons as an RFC 5545 iCalendar feed. Times are local to the series' zone (or the
/// platform's zone for single lessons) with a VTIMEZONE for each zone used, built from the
/// system's tz database for the feed's window.
struct CalendarFeed {
    var name: String
    var defaultZone: TimeZone
    var window: ClosedRange<Date>
    var lessons: [TimetableEntry]
    var now = Date()

    func render() -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//CloudClass//Timetable//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            "X-WR-CALNAME:" + Self.escape(name), "X-WR-TIMEZONE:" + defaultZone.identifier,
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H",
        ]
        let zones = Set(lessons.map { zone(of: $0).identifier }).union([defaultZone.identifier]).sorted()
        for identifier in zones {
            lines += Self.vtimezone(TimeZone(identifier: identifier)!, window: window)
        }
        for lesson in lessons {
            let zone = zone(of: lesson)
            lines += [
                "BEGIN:VEVENT",
                "UID:" + lesson.id + "@cloudclass",
                "DTSTAMP:" + Self.utc(now),
                "DTSTART;TZID=" + zone.identifier + ":" + Self.local(lesson.starts_at, in: zone),
                "DTEND;TZID=" + zone.identifier + ":" + Self.local(lesson.ends_at, in: zone),
                "SUMMARY:" + Self.escape(lesson.course_title + ": " + lesson.title),
                "DESCRIPTION:" + Self.escape(lesson.subject + " — " + lesson.course_title),
                "STATUS:" + (lesson.state == "cancelled" ? "CANCELLED" : "CONFIRMED"),
                "END:VEVENT",
            ]
        }
        lines.append("END:VCALENDAR")
        return lines.map(Self.fold).joined(separator: "\r\n") + "\r\n"
    }

    private func zone(of lesson: TimetableEntry) -> TimeZone {
        lesson.timezone.flatMap(TimeZone.init(identifier:)) ?? defaultZone
    }

    /// The zone's offsets over the window: the one in force at its start, then every change.
    static func vtimezone(_ zone: TimeZone, window: ClosedRange<Date>) -> [String] {
        var lines = ["BEGIN:VTIMEZONE", "TZID:" + zone.identifier]
        func observance(at instant: Date, from: Int, to: Int, start: String) {
            let kind = zone.isDaylightSavingTime(for: instant) ? "DAYLIGHT" : "STANDARD"
            lines += [
                "BEGIN:" + kind, "DTSTART:" + start, "TZOFFSETFROM:" + offset(from), "TZOFFSETTO:" + offset(to),
                "TZNAME:" + (zone.abbreviation(for: instant) ?? offset(to)), "END:" + kind,
            ]
        }
        let initial = zone.secondsFromGMT(for: window.lowerBound)
        observance(at: window.lowerBound, from: initial, to: initial, start: "19700101T000000")
        var cursor = window.lowerBound
        while let change = zone.nextDaylightSavingTimeTransition(after: cursor), change <= window.upperBound {
            let before = zone.secondsFromGMT(for: change.addingTimeInterval(-1))
            let after = zone.secondsFromGMT(for: change)
            // DTSTART of an observance is the wall time just before the change, in the old offset.
            observance(at: change, from: before, to: after, start: wall(change, offset: before))
            cursor = change.addingTimeInterval(1)
        }
        lines.append("END:VTIMEZONE")
        return lines
    }

    static func offset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + pad(minutes / 60) + pad(minutes % 60)
    }

    static func utc(_ date: Date) -> String { wall(date, offset: 0) + "Z" }

    static func local(_ date: Date, in zone: TimeZone) -> String { wall(date, offset: zone.secondsFromGMT(for: date)) }

    /// `YYYYMMDDTHHMMSS` of an instant seen at a UTC offset.
    static func wall(_ date: Date, offset: Int) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let day = LocalDate(daysSinceEpoch: days)
        let second = seconds - days * 86_400
        return String(day.year) + pad(day.month) + pad(day.day) + "T" + pad(second / 3600) + pad(second / 60 % 60) + pad(second % 60)
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0" + String(value) : String(value) }

    /// TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 §3.3.11).
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ";", with: "\\;")
            .replacingOccurrences(of: ",", with: "\\,").replacingOccurrences(of: "\r\n", with: "\\n").replacingOccurrences(of: "\n", with: "\\n")
            // A bare CR ends a content line for some readers (and lets text forge a property).
            .replacingOccurrences(of: "\r", with: "\\n")
    }

    /// Lines longer than 75 octets continue on lines starting with a space (§3.1), never
    /// splitting a UTF-8 character.
    static func fold(_ line: String) -> String {
        guard line.utf8.count > 75 else { return line }
        var pieces: [String] = []
        var current = ""
        var size = 0
        for character in line {
            let width = character.utf8.count
            if size + width > (pieces.isEmpty ? 75 : 74) {
                pieces.append(current)
                current = ""
                size = 0
            }
            current.append(character)
            size += width
        }
        pieces.append(current)
        return pieces.joined(separator: "\r\n ")
    }
}
