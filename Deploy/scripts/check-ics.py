#!/usr/bin/env python3
"""Parses an iCalendar feed with the `icalendar` library (PyPI) and prints its events as JSON.

Usage: check-ics.py FILE. Exits non-zero when the feed does not parse or an event lacks what
RFC 5545 requires (UID, DTSTAMP, DTSTART). Times are printed in UTC, resolved through the
feed's own VTIMEZONE definitions.
"""
import json
import sys
from datetime import timezone

import icalendar


def main(path):
    with open(path, "rb") as handle:
        calendar = icalendar.Calendar.from_ical(handle.read())
    if calendar.get("VERSION") != "2.0" or not calendar.get("PRODID"):
        sys.exit("VCALENDAR lacks VERSION:2.0 or PRODID")
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    events = []
    for event in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART"):
            if event.get(required) is None:
                sys.exit(f"VEVENT lacks {required}")
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND")
        tzid = event["DTSTART"].params.get("TZID")
        if tzid and tzid not in zones:
            sys.exit(f"DTSTART names TZID {tzid} without a VTIMEZONE")
        if start.tzinfo is None:
            sys.exit("DTSTART is a floating time")
        events.append({
            "uid": str(event["UID"]),
            "start": start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": str(event.get("STATUS", "")),
            "summary": str(event.get("SUMMARY", "")),
            "tzid": tzid,
        })
    print(json.dumps({"zones": sorted(zones), "events": events}))


if __name__ == "__main__":
    main(sys.argv[1])
