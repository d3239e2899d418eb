#!/usr/bin/env python3
"""The scheduling issue's user journey through the gateway of a running demo platform.

Usage: journey.py GATEWAY_URL. A teacher creates a course, enrols classes, books a weekly
series, gets a 409 for a clash and reads the calendar feed; an administrator imports a roster
and a new pupil activates their account. Exits non-zero at the first step that goes wrong.
Standard library only.
"""
import datetime
import json
import sys
import urllib.parse
import uuid

import gateway_client

GATEWAY = sys.argv[1].rstrip("/")


def call(method, path, body=None, token=None, content_type="application/json", accept=None, headers=None):
    status, content, text, _ = gateway_client.call(GATEWAY, method, path, body, token, content_type, accept, headers)
    return status, content, text


def expect(status, wanted, what, text):
    if status != wanted:
        sys.exit(f"journey: {what}: expected {wanted}, got {status}: {text[:500]}")
    print(f"journey: {what}: {status}")


def login(username, password="cloudclass"):
    status, _, text = call("POST", "/api/v1/auth/login", {"username": username, "password": password})
    expect(status, 200, f"{username} signs in", text)
    return json.loads(text)["token"]


teacher = login("teacher")
admin = login("admin")

status, _, text = call("GET", "/api/v1/classes?limit=100", token=teacher)
expect(status, 200, "the teacher lists classes", text)
classes = {c["name"]: c for c in json.loads(text)["items"]}
status, _, text = call("POST", "/api/v1/courses", {"title": f"Journey {uuid.uuid4().hex[:6]}", "subject": "history", "grade": 7}, token=teacher)
expect(status, 201, "the teacher creates a course", text)
course = json.loads(text)["id"]
status, _, text = call("POST", f"/api/v1/courses/{course}/enrollments",
                       {"class_ids": [classes["Class 7-1"]["id"], classes["Class 7-2"]["id"]]}, token=teacher)
expect(status, 200, "the teacher enrols two classes", text)

# A series on Saturdays at 06:00 Shanghai time, five weeks from next week: clear of the demo's lessons.
today = datetime.date.today()
first = today + datetime.timedelta(days=7)
series = {"course_id": course, "title": "Saturday history", "weekdays": [6], "start_time": "06:00", "duration_minutes": 45,
          "first_date": first.isoformat(), "last_date": (first + datetime.timedelta(days=34)).isoformat(),
          "timezone": "Asia/Shanghai", "except_dates": []}
status, _, text = call("POST", "/api/v1/lesson-series", series, token=teacher, headers={"Idempotency-Key": str(uuid.uuid4())})
expect(status, 201, "the teacher books a weekly series", text)
lessons = json.loads(text)["lessons"]
assert len(lessons) == 5, lessons
clash = {"course_id": course, "title": "Clash", "starts_at": lessons[0]["starts_at"], "ends_at": lessons[0]["ends_at"]}
status, content_type, text = call("POST", "/api/v1/lessons", clash, token=teacher)
expect(status, 409, "booking the same slot again is a clash", text)
conflicts = json.loads(text)["conflicts"]
assert content_type.startswith("application/problem+json") and {c["reason"] for c in conflicts} == {"teacher", "class"}, text

status, _, text = call("GET", "/api/v1/me", token=teacher)
expect(status, 200, "the teacher reads /me", text)
calendar_url = json.loads(text)["calendar_url"]
assert calendar_url.startswith(GATEWAY), calendar_url
status, content_type, feed = call("GET", calendar_url[len(GATEWAY):])
expect(status, 200, "a calendar app fetches the feed", feed)
assert content_type.startswith("text/calendar") and feed.count("BEGIN:VEVENT") >= 5 and lessons[0]["id"] in feed, feed[:300]

status, _, text = call("GET", "/api/v1/schools?limit=10", token=admin)
expect(status, 200, "the administrator lists schools", text)
school = next(s for s in json.loads(text)["items"] if s["code"] == "wh-no1")
tag = uuid.uuid4().hex[:6]
roster = f"username,display_name,role,class_name\r\njourney-{tag},Journey Pupil,student,Class 7-1\r\n,Unnamed Pupil,student,Class 7-2\r\n"
status, content_type, text = call("POST", f"/api/v1/schools/{school['id']}/roster", roster, token=admin,
                                  content_type="text/csv", accept="text/csv")
expect(status, 200, "the administrator imports a roster", text)
assert text.startswith("\ufeff"), "the codes file starts with a byte-order mark, for Excel"
rows = [line.split(",") for line in text[1:].strip().split("\r\n")]
assert rows[0] == ["username", "display_name", "class_name", "activation_code"] and len(rows) == 3, text
code = next(row[3] for row in rows if row[0] == f"journey-{tag}")

status, _, text = call("POST", "/api/v1/auth/activate", {"username": f"journey-{tag}", "activation_code": code, "new_password": "my own secret"})
expect(status, 200, "the new pupil activates their account", text)
pupil = json.loads(text)["token"]
status, _, text = call("GET", "/api/v1/timetable?from=" + urllib.parse.quote(lessons[0]["starts_at"]) + "&to="
                       + urllib.parse.quote(lessons[1]["ends_at"]), token=pupil)
expect(status, 200, "the pupil reads their timetable", text)
assert [item["id"] for item in json.loads(text)["items"]] == [lessons[0]["id"], lessons[1]["id"]], text
print("journey: passed")
