#!/usr/bin/env python3
"""Booking, timetable and roster-import figures on a filled database (docs/performance.md).

Usage: bench-timetable.py DATA_FOLDER GATEWAY_URL
  DATA_FOLDER  the folder of a running `cloudclass up --demo` (its PostgreSQL and secrets)
  GATEWAY_URL  e.g. http://127.0.0.1:8080

Fills the database once (1,000 schools in 31 regions, 10,000 classes of 30 pupils, 10,000
teachers, 50,000 courses and a school week of 250,000 lessons), then measures through the
gateway: enrolling 5,000 classes in a national course, booking national lessons for them (free
and clashing), a pupil's and a teacher's week, and importing a 100,000-row roster.
Bounded: every loop has a fixed count. Standard library and psql only.
"""
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import gateway_client

DATA, GATEWAY = sys.argv[1], sys.argv[2].rstrip("/")
SCHEDULING = os.environ.get("CLOUDCLASS_SCHEDULING_URL", "http://127.0.0.1:8101")
PASSWORD = open(os.path.join(DATA, "secrets", "postgres-password")).read().strip()
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def psql(sql):
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    result = subprocess.run(["psql", "-h", os.path.join(DATA, "postgres"), "-U", "cloudclass", "-d", "cloudclass",
                             "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"psql failed: {result.stderr}")
    return result.stdout.strip()


def call(method, path, body=None, token=None, content_type="application/json", accept=None):
    status, _, text, seconds = gateway_client.call(GATEWAY, method, path, body, token, content_type, accept, timeout=300)
    return status, text, seconds


def login(username):
    status, text, _ = call("POST", "/api/v1/auth/login", {"username": username, "password": "cloudclass"})
    assert status == 200, text
    return json.loads(text)["token"]


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def timed_sql(label, sql):
    started = time.perf_counter()
    psql(sql)
    print(f"  fill: {label}: {time.perf_counter() - started:.1f} s")


# Monday 08:00 Shanghai at least a week ahead: the filled school week.
today = datetime.datetime.now(SHANGHAI).date()
monday = today + datetime.timedelta(days=7 - today.weekday() + 7)
week_start = datetime.datetime.combine(monday, datetime.time(8, 0), SHANGHAI)


def fill():
    if psql("SELECT count(*) FROM scheduling.schools WHERE code LIKE 'bench-%'") != "0":
        print("  fill: already filled")
        return
    hash_of_demo = "(SELECT password_hash FROM scheduling.users WHERE username = 'student')"
    timed_sql("1,000 schools", """
        INSERT INTO scheduling.schools (id, name, code, region)
        SELECT gen_random_uuid(), 'Bench School ' || n, 'bench-' || lpad(n::text, 4, '0'), r.code
        FROM generate_series(1, 1000) n JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS i FROM scheduling.regions) r ON r.i = n % 31""")
    timed_sql("10,000 classes", """
        INSERT INTO scheduling.classes (id, school_id, name, grade)
        SELECT gen_random_uuid(), s.id, 'Class ' || k, 7 + k % 3 FROM scheduling.schools s, generate_series(0, 9) k WHERE s.code LIKE 'bench-%'""")
    timed_sql("300,000 pupils", f"""
        INSERT INTO scheduling.users (id, username, display_name, role, school_id, class_id, password_hash)
        SELECT gen_random_uuid(), s.code || '-c' || substring(c.name FROM 7) || '-p' || p, 'Pupil ' || p, 'student', s.id, c.id, {hash_of_demo}
        FROM scheduling.classes c JOIN scheduling.schools s ON s.id = c.school_id, generate_series(1, 30) p WHERE s.code LIKE 'bench-%'""")
    timed_sql("10,000 teachers", f"""
        INSERT INTO scheduling.users (id, username, display_name, role, school_id, password_hash)
        SELECT gen_random_uuid(), s.code || '-t' || subj || h, 'Teacher', 'teacher', s.id, {hash_of_demo}
        FROM scheduling.schools s, generate_series(0, 4) subj, generate_series(0, 1) h WHERE s.code LIKE 'bench-%'""")
    # Class k takes subject s on day d in period (s + k + d) mod 5; the teacher of (school,
    # subject) for classes 0-4 and another for 5-9 never teach two classes at once.
    timed_sql("50,000 courses", """
        WITH src AS (
            SELECT gen_random_uuid() AS id, c.id AS class_id, subj, c.grade, t.id AS teacher_id, c.name
            FROM scheduling.classes c JOIN scheduling.schools s ON s.id = c.school_id, generate_series(0, 4) subj, scheduling.users t
            WHERE s.code LIKE 'bench-%' AND t.username = s.code || '-t' || subj || (substring(c.name FROM 7)::int / 5)
        ), courses AS (
            INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id)
            SELECT id, 'Subject ' || subj || ' ' || name, 'subject' || subj, grade, teacher_id FROM src
        )
        INSERT INTO scheduling.course_classes (course_id, class_id) SELECT id, class_id FROM src""")
    timed_sql("a week of 250,000 lessons", f"""
        WITH src AS (
            SELECT gen_random_uuid() AS id, co.id AS course_id, co.teacher_id, cc.class_id,
                   tstzrange(st, st + interval '45 minutes') AS during
            FROM scheduling.courses co JOIN scheduling.course_classes cc ON cc.course_id = co.id
            JOIN scheduling.classes c ON c.id = cc.class_id, generate_series(0, 4) d,
            LATERAL (SELECT '{week_start.isoformat()}'::timestamptz + d * interval '1 day'
                            + ((substring(co.subject FROM 8)::int + substring(c.name FROM 7)::int + d) % 5) * interval '55 minutes' AS st) t
            WHERE co.subject LIKE 'subject%'
        ), lessons AS (
            INSERT INTO scheduling.lessons (id, course_id, teacher_id, title, during) SELECT id, course_id, teacher_id, 'Lesson', during FROM src
        )
        INSERT INTO scheduling.class_bookings (lesson_id, class_id, during) SELECT id, class_id, during FROM src""")
    timed_sql("national teacher", f"""
        INSERT INTO scheduling.users (id, username, display_name, role, password_hash)
        VALUES (gen_random_uuid(), 'bench-national', 'National Teacher', 'teacher', {hash_of_demo}) ON CONFLICT DO NOTHING""")
    timed_sql("ANALYZE", "ANALYZE")


def percentiles(samples):
    samples = sorted(samples)
    return f"p50 {ms(statistics.median(samples))}, p95 {ms(samples[int(len(samples) * 0.95) - 1])}, max {ms(samples[-1])}"


def national_lessons():
    # A rerun starts from the filled week: earlier runs' national lessons are cancelled.
    psql("DELETE FROM scheduling.class_bookings WHERE lesson_id IN (SELECT l.id FROM scheduling.lessons l "
         "JOIN scheduling.courses c ON c.id = l.course_id WHERE c.title = 'National lecture')")
    psql("UPDATE scheduling.lessons SET state = 'cancelled' WHERE course_id IN (SELECT id FROM scheduling.courses WHERE title = 'National lecture')")
    admin = login("admin")
    teacher_id = psql("SELECT id FROM scheduling.users WHERE username = 'bench-national'")
    status, text, _ = call("POST", "/api/v1/courses", {"title": "National lecture", "subject": "science", "grade": 8, "teacher_id": teacher_id}, token=admin)
    assert status == 201, text
    course = json.loads(text)["id"]
    classes = psql("SELECT string_agg(id::text, ',') FROM (SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM scheduling.classes c "
                   "JOIN scheduling.schools s ON s.id = c.school_id WHERE s.code ~ '^bench-[0-9]{4}$') x WHERE n % 2 = 0").split(",")
    status, text, seconds = call("POST", f"/api/v1/courses/{course}/enrollments", {"class_ids": classes}, token=admin)
    assert status == 200, text
    regions = psql(f"SELECT count(DISTINCT s.region) FROM scheduling.course_classes cc JOIN scheduling.classes c ON c.id = cc.class_id "
                   f"JOIN scheduling.schools s ON s.id = c.school_id WHERE cc.course_id = '{course}'")
    print(f"  enrol {len(classes):,} classes ({regions} regions) in a national course: {ms(seconds)}")
    free = []
    for week in range(5):
        saturday = week_start + datetime.timedelta(days=5 + 7 * week, hours=2)
        status, text, seconds = call("POST", "/api/v1/lessons", {"course_id": course, "title": "National lecture",
                                     "starts_at": saturday.isoformat(), "ends_at": (saturday + datetime.timedelta(minutes=45)).isoformat()}, token=admin)
        assert status == 201, text
        free.append(seconds)
    print(f"  book a national lesson for {len(classes):,} classes (free slot, 5 bookings): {percentiles(free)}")
    clashes = []
    for attempt in range(3):
        start = week_start + datetime.timedelta(days=attempt)
        status, text, seconds = call("POST", "/api/v1/lessons", {"course_id": course, "title": "Clash", "starts_at": start.isoformat(),
                                     "ends_at": (start + datetime.timedelta(minutes=45)).isoformat()}, token=admin)
        assert status == 409, text
        clashes.append(seconds)
    conflicts = len(json.loads(text)["conflicts"])
    print(f"  the same in a taken slot: 409 listing {conflicts:,} conflicts, 3 tries: {percentiles(clashes)}, body {len(text) / 1e6:.1f} MB")
    # What the bandwidth service's forecast asks: the audience of the lessons in a window, by region.
    def audience(day, label):
        token = open(os.path.join(DATA, "secrets", "service-token")).read().strip()
        path = "/internal/v1/audience?from=" + urllib.parse.quote(day.isoformat()) + "&to=" + urllib.parse.quote((day + datetime.timedelta(days=1)).isoformat())
        samples = []
        for _ in range(5):
            request = urllib.request.Request(SCHEDULING + path, headers={"Authorization": "Bearer " + token})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
            samples.append(time.perf_counter() - started)
        students = sum(r["students"] for lesson in answer["lessons"] for r in lesson["regions"])
        regions = len({r["region"] for lesson in answer["lessons"] for r in lesson["regions"]})
        print(f"  internal audience of {label} ({len(answer['lessons']):,} lessons, {students:,} pupil seats in {regions} regions), "
              f"5 calls: {percentiles(samples)}")
    audience(week_start.replace(hour=0) + datetime.timedelta(days=5), "the national lesson's Saturday")
    audience(week_start.replace(hour=0), "a full school day")


def week(username, label):
    token = login(username)
    query = "from=" + urllib.parse.quote(week_start.isoformat()) + "&to=" + urllib.parse.quote((week_start + datetime.timedelta(days=7)).isoformat())
    samples, count = [], 0
    for _ in range(200):
        status, text, seconds = call("GET", "/api/v1/timetable?" + query, token=token)
        assert status == 200, text
        samples.append(seconds)
        count = len(json.loads(text)["items"])
    print(f"  {label}'s week ({count} lessons), 200 requests one after another: {percentiles(samples)}")

    def one(_):
        return call("GET", "/api/v1/timetable?" + query, token=token)[0]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(800)))
    elapsed = time.perf_counter() - started
    assert all(s == 200 for s in statuses), set(statuses)
    print(f"  {label}'s week, 800 requests from 16 threads: {800 / elapsed:.0f} req/s (client on the same 2 cores)")


def roster():
    admin = login("admin")
    school = psql("SELECT id FROM scheduling.schools WHERE code = 'bench-roster'")
    if not school:
        psql("INSERT INTO scheduling.schools (id, name, code, region) VALUES (gen_random_uuid(), 'Roster School', 'bench-roster', '440000')")
        school = psql("SELECT id FROM scheduling.schools WHERE code = 'bench-roster'")
        psql(f"INSERT INTO scheduling.classes (id, school_id, name, grade) SELECT gen_random_uuid(), '{school}', 'R-' || k, 1 + k % 12 FROM generate_series(0, 99) k")
    run = psql("SELECT count(*) FROM scheduling.users WHERE school_id = (SELECT id FROM scheduling.schools WHERE code = 'bench-roster')")
    rows = 100_000
    lines = ["username,display_name,role,class_name"] + [f"r{run}-{n},Pupil {n} of the roster,student,R-{n % 100}" for n in range(rows)]
    body = "\r\n".join(lines) + "\r\n"
    status, text, seconds = call("POST", f"/api/v1/schools/{school}/roster", body, token=admin, content_type="text/csv", accept="text/csv")
    assert status == 200, text[:300]
    print(f"  import {rows:,} new pupils ({len(body) / 1e6:.1f} MB CSV, codes back as CSV): {seconds:.2f} s")
    status, text, seconds = call("POST", f"/api/v1/schools/{school}/roster", body, token=admin, content_type="text/csv")
    assert status == 200 and json.loads(text)["unchanged"] == rows, text[:300]
    print(f"  the same file again (all {rows:,} unchanged): {seconds:.2f} s")
    moved = "\r\n".join([lines[0]] + [f"r{run}-{n},Pupil {n} of the roster,student,R-{(n + 1) % 100}" for n in range(rows)]) + "\r\n"
    status, text, seconds = call("POST", f"/api/v1/schools/{school}/roster", moved, token=admin, content_type="text/csv")
    assert status == 200 and json.loads(text)["updated"] == rows, text[:300]
    print(f"  next term: all {rows:,} move class: {seconds:.2f} s")
    broken = moved.replace(f"r{run}-99999,Pupil 99999 of the roster,student,R-0", f"r{run}-99999,Pupil,student,No such class")
    status, text, seconds = call("POST", f"/api/v1/schools/{school}/roster", broken, token=admin, content_type="text/csv")
    assert status == 422, text[:300]
    print(f"  the same with one bad row at the end: 422 naming row {json.loads(text)['errors'][0]['row']:,}, nothing written: {seconds:.2f} s")


print("bench-timetable: filling the database (once)")
fill()
print("bench-timetable: " + psql("SELECT format('%s schools, %s classes, %s users, %s courses, %s lessons, %s class seats', "
      "(SELECT count(*) FROM scheduling.schools), (SELECT count(*) FROM scheduling.classes), (SELECT count(*) FROM scheduling.users), "
      "(SELECT count(*) FROM scheduling.courses), (SELECT count(*) FROM scheduling.lessons), (SELECT count(*) FROM scheduling.class_bookings))"))
print("bench-timetable: national lessons")
national_lessons()
print("bench-timetable: timetables")
week("bench-0001-c3-p7", "a pupil")
week("bench-0001-t21", "a teacher")
print("bench-timetable: roster import")
roster()
print("bench-timetable: done")
