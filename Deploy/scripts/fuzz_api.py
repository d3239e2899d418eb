#!/usr/bin/env python3
"""The Python half of `fuzz-api` (standard library, plus PyYAML, which schemathesis brings).

  fuzz_api.py prepare --gateway URL --out DIR
      Signs in as admin, teacher and student (DIR/<role>.token) and gathers what the demo platform
      really has, so that the fuzzing reaches past 404: ids of schools, classes, courses, lessons
      and users, each role's calendar feed token, a few users awaiting activation with their codes,
      and refresh tokens. Writes DIR/roles.toml (for the signed-in runs) and DIR/sign-in.toml (for
      the sign-in run): schemathesis configurations whose dictionaries put a real value into the
      matching parameters half the time, leaving the other half to schema-driven generation.

  fuzz_api.py report --schema docs/openapi.yaml --gateway URL REPORTS_DIR
      The summary of a run: every finding once, whichever runs found it. REPORTS_DIR holds one
      folder per schemathesis run (student, teacher, admin, sign-in), each with st's JUnit and JSON
      reports, its output (st.out), its exit status (rc) and the gateway's access-log lines of that
      run (access.log). A finding is a failed check (grouped by operation, check, status and what
      was wrong, over all runs), an error schemathesis met, a run that did not finish in time or
      exited non-zero without saying why, a 5xx in the gateway's log, a 429 where the document
      does not list one, or the platform not being healthy afterwards. Also prints the statuses the
      gateway answered per operation and run, and whether the sign-in throttle answered 429.
      Exits 1 on any finding.
"""
import argparse
import collections
import datetime
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_client  # noqa: E402

# Schemathesis 4's failure codes -> the check that raises them (schemathesis.failure_codes).
try:
    from schemathesis.failure_codes import FAILURE_CLASSES

    CHECK_OF_CODE = {cls.code: "/".join(cls.checks) or "custom" for cls in FAILURE_CLASSES}
except Exception:  # noqa: BLE001 - the summary works without the names
    CHECK_OF_CODE = {}

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
BEARER = re.compile(r"Bearer [A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
QUOTED_BEARER = re.compile(r"'Authorization: Bearer [A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+'")


def shell_curl(curl):
    """st's curl with the run's token replaced by $TOKEN (double-quoted so the shell expands it)."""
    return BEARER.sub("Bearer $TOKEN", QUOTED_BEARER.sub('"Authorization: Bearer $TOKEN"', curl))


RUN_ORDER = ["student", "teacher", "admin", "sign-in"]
ROLES = ("admin", "teacher", "student")
ID_PARAMETERS = (
    "path.id", "query.school_id", "query.class_id", "query.teacher_id",
    "body.course_id", "body.school_id", "body.class_id", "body.teacher_id",
    "body.class_ids[*]", "body.student_ids[*]",
)


def toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"  # a JSON string is a TOML basic string


def prepare(args):
    base = args.gateway.rstrip("/")
    os.makedirs(args.out, exist_ok=True)

    def call(method, path, body=None, token=None, want=(200,)):
        status, _, text, _ = gateway_client.call(base, method, path, body, token)
        if status not in want:
            sys.exit(f"fuzz_api prepare: {method} {path} answered {status}: {text[:300]}")
        return json.loads(text) if text else None

    def sign_in(username):
        return call("POST", "/api/v1/auth/login", {"username": username, "password": "cloudclass"})

    tokens, refresh_tokens, feeds, ids = {}, [], [], []
    for role in ROLES:
        pair = sign_in(role)
        tokens[role] = pair["token"]
        with open(os.path.join(args.out, f"{role}.token"), "w") as f:
            f.write(pair["token"])
        me = call("GET", "/api/v1/me", token=pair["token"])
        ids.append(me["id"])
        feeds.append(me["calendar_url"].rsplit("/", 1)[-1].removesuffix(".ics"))
    admin = tokens["admin"]
    for path in ("/api/v1/schools", "/api/v1/classes", "/api/v1/courses"):
        for item in call("GET", path + "?limit=1000", token=admin)["items"]:
            ids.extend(v for k, v in item.items() if k == "id" or k.endswith("_id"))
    courses = [item["id"] for item in call("GET", "/api/v1/courses?limit=1000", token=admin)["items"]]
    for course in courses:
        enrolled = call("GET", f"/api/v1/courses/{course}/enrollments", token=admin)
        ids.extend(enrolled["class_ids"] + enrolled["student_ids"])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    window = f"from={(now - datetime.timedelta(days=30)).isoformat().replace('+00:00', 'Z')}&to={(now + datetime.timedelta(days=60)).isoformat().replace('+00:00', 'Z')}"
    for item in call("GET", f"/api/v1/timetable?{window}&limit=1000", token=admin)["items"]:
        ids.extend(v for k, v in item.items() if k == "id" or k.endswith("_id"))
    # Users awaiting activation, for the sign-in run's activate route.
    usernames, codes = ["admin", "teacher", "student", "teacher2", "pupil001", "pupil002"], []
    for n in range(2):
        name = f"fuzz-pending-{n}"
        created = call("POST", "/api/v1/users", {"username": name, "display_name": f"Fuzz pending {n}", "role": "teacher"},
                       token=admin, want=(201,))
        usernames.append(name)
        codes.append(created["activation_code"])
        ids.append(created["id"])
    for username in ("pupil003", "pupil004", "pupil005"):
        pair = sign_in(username)
        refresh_tokens.append(pair["refresh_token"])
        ids.append(pair["user"]["id"])
    ids = sorted(set(v for v in ids if isinstance(v, str) and UUID.fullmatch(v)))

    binding = '{ dictionary = "%s", probability = 0.5 }'
    roles_toml = [
        "# Written by fuzz_api.py prepare: real values of this platform for about half of the generated ones.",
        "[dictionaries.ids]", f"values = {toml_list(ids)}",
        "[dictionaries.feeds]", f"values = {toml_list(feeds)}",
        "", "[parameters]",
    ]
    roles_toml += [f'"{name}" = {binding % "ids"}' for name in ID_PARAMETERS]
    roles_toml.append(f'"path.feed_token" = {binding % "feeds"}')
    sign_in_toml = [
        "# Written by fuzz_api.py prepare: real usernames (wrong passwords reach the throttle), pending",
        "# activation codes and refresh tokens for about half of the generated values.",
        "[dictionaries.usernames]", f"values = {toml_list(usernames)}",
        "[dictionaries.codes]", f"values = {toml_list(codes)}",
        "[dictionaries.refresh]", f"values = {toml_list(refresh_tokens)}",
        "", "[parameters]",
        f'"body.username" = {binding % "usernames"}',
        f'"body.activation_code" = {binding % "codes"}',
        f'"body.refresh_token" = {binding % "refresh"}',
    ]
    for name, lines in (("roles.toml", roles_toml), ("sign-in.toml", sign_in_toml)):
        with open(os.path.join(args.out, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"fuzz-api: {len(ids)} real ids, {len(feeds)} feed tokens, {len(codes)} activation codes, "
          f"{len(refresh_tokens)} refresh tokens for the dictionaries")
    return 0


def load_paths(schema_path):
    """(method, regex, template, documented statuses) for every operation of the document."""
    try:
        import yaml  # PyYAML comes with schemathesis
    except ImportError:
        sys.exit("fuzz_api report: needs PyYAML (python3 -m pip install pyyaml), which schemathesis brings")

    with open(schema_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    ops = []
    for template, item in doc.get("paths", {}).items():
        regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, op in item.items():
            if method.lower() in ("get", "put", "post", "patch", "delete", "head", "options", "trace"):
                ops.append((method.upper(), regex, template, set(map(str, op.get("responses", {})))))
    return ops


def route_of(ops, method, path):
    path = path.split("?", 1)[0]
    for op_method, regex, template, statuses in ops:
        if regex.match(path):
            return template, (statuses if op_method == method else None)
    return None, None


def read_access_log(path, ops):
    """{(method, template-or-'other'): Counter(status)} from nginx's combined log."""
    counts = collections.defaultdict(collections.Counter)
    undocumented = collections.defaultdict(collections.Counter)
    line_re = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')
    if not os.path.exists(path):
        return counts, undocumented
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = line_re.search(line)
            if not m:
                continue
            method, status = m["method"], m["status"]
            template, statuses = route_of(ops, method, m["path"])
            key = (method, template or "(no such route)")
            counts[key][status] += 1
            if statuses is not None and status not in statuses and f"{status[0]}XX" not in statuses and "default" not in statuses:
                undocumented[key][status] += 1
    return counts, undocumented


def parse_failure_text(text):
    """Splits a JUnit <failure> text into test cases: (case id, [(code, title, detail)], status line, curl)."""
    cases = []
    blocks = re.split(r"^\d+\. Test Case ID: ", text, flags=re.M)
    for block in blocks[1:]:
        lines = block.splitlines()
        case_id = lines[0].strip()
        checks, status, curl = [], "", ""
        i = 1
        while i < len(lines):
            line = lines[i]
            m = re.match(r"^- (ST\d+|[A-Z]+\d*)\s+(.*)$", line)
            if m:
                detail = []
                i += 1
                while i < len(lines) and not re.match(r"^(- |\[\d{3}\])", lines[i]):
                    if lines[i].strip():
                        detail.append(lines[i].strip())
                    i += 1
                checks.append((m[1], m[2].strip(), detail))
                continue
            m = re.match(r"^\[(\d{3})\]\s*(.*?):?$", line)
            if m and not status:
                status = m[1]
            if line.strip() == "Reproduce with:":
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j < len(lines):
                    curl = lines[j].strip()
            i += 1
        cases.append((case_id, checks, status, curl))
    return cases


def response_body(text):
    m = re.search(r"^\[\d{3}\][^\n]*\n\n\s*`(.*?)`\s*$", text, flags=re.M | re.S)
    return m[1] if m else ""


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("--gateway", required=True)
    p.add_argument("--out", required=True)
    r = commands.add_parser("report")
    r.add_argument("--schema", required=True)
    r.add_argument("--gateway", default="")
    r.add_argument("reports")
    args = parser.parse_args()
    return prepare(args) if args.command == "prepare" else report(args)


def report(args):
    ops = load_paths(args.schema)
    documented = {(method, template): statuses for method, _, template, statuses in ops}

    runs = sorted(
        (d for d in os.listdir(args.reports) if os.path.isdir(os.path.join(args.reports, d))),
        key=lambda d: (RUN_ORDER.index(d) if d in RUN_ORDER else len(RUN_ORDER), d),
    )
    findings = collections.OrderedDict()  # key -> {"runs": [...], ...}
    other = []  # findings that are not failed checks
    all_counts = {}  # run -> {(method, template): Counter(status)}
    print("\n================ fuzz-api summary ================")
    for run in runs:
        folder = os.path.join(args.reports, run)
        rc = open(os.path.join(folder, "rc")).read().strip() if os.path.exists(os.path.join(folder, "rc")) else "?"
        json_files = sorted(glob.glob(os.path.join(folder, "json-*.json")))
        junit_files = sorted(glob.glob(os.path.join(folder, "junit-*.xml")))
        report = None
        if json_files and os.path.getsize(json_files[-1]) > 0:  # st killed mid-run leaves it empty
            report = json.load(open(json_files[-1]))
        print(f"\n--- run '{run}': st exit status {rc}")
        if rc in ("124", "137"):
            other.append(f"run '{run}': st did not finish within its time limit (killed by timeout); see {folder}/st.out")
        if report is None:
            other.append(f"run '{run}': no JSON report (st failed to run?); see {folder}/st.out")
        else:
            tc = report.get("test_cases", {})
            opsum = report.get("operations", {})
            print(
                f"    {tc.get('generated', '?')} test cases over {opsum.get('tested', '?')}/{opsum.get('selected', '?')} operations"
                f" in {report.get('running_time', 0):.0f} s (stopped by {report.get('stop_reason')}); phases: "
                + ", ".join(f"{k} {v.get('status')}" for k, v in report.get("phases", {}).items())
            )
            for err in report.get("errors", []):
                other.append(f"run '{run}': schemathesis error: {json.dumps(err)[:600]}")
            warnings = {k: v for k, v in (report.get("warnings") or {}).items() if v}
            for kind, items in warnings.items():
                shown = items if isinstance(items, list) else [items]
                print(f"    warning {kind}: {', '.join(map(str, shown))[:400]}")
        parsed = 0
        for junit in junit_files:
            for testcase in ET.parse(junit).getroot().iter("testcase"):
                operation = testcase.get("name")
                for failure in list(testcase.findall("failure")) + list(testcase.findall("error")):
                    text = failure.text or failure.get("message") or ""
                    cases = parse_failure_text(text)
                    if not cases:
                        other.append(f"run '{run}': {operation}: {failure.tag}: {BEARER.sub('Bearer $TOKEN', text)[:800]}")
                        continue
                    for case_id, checks, status, curl in cases:
                        body = response_body(text) if len(cases) == 1 else ""
                        for code, title, detail in checks:
                            detail_key = UUID.sub("<uuid>", " / ".join(d for d in detail if not d.startswith("Expected:")))
                            key = (operation, code, status, detail_key)
                            entry = findings.setdefault(
                                key,
                                {"runs": [], "title": title, "detail": detail, "curl": curl, "body": body, "case": case_id},
                            )
                            if run not in entry["runs"]:
                                entry["runs"].append(run)
                            parsed += 1
        if rc not in ("0", "?") and parsed == 0 and rc not in ("124", "137") and report is not None and not report.get("errors"):
            other.append(f"run '{run}': st exited {rc} with no failure in its reports; see {folder}/st.out")

        counts, undocumented = read_access_log(os.path.join(folder, "access.log"), ops)
        all_counts[run] = counts
        with open(os.path.join(folder, "statuses.txt"), "w") as out:
            for (method, template), counter in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                out.write(f"{method:7} {template:42} " + " ".join(f"{s}x{n}" for s, n in sorted(counter.items())) + "\n")
        for (method, template), counter in counts.items():
            for status, n in counter.items():
                if status.startswith("5"):
                    other.append(f"run '{run}': the gateway answered {method} {template} with {status} ({n} times); see {folder}/access.log and the service logs")
            if "429" in counter:
                statuses = documented.get((method, template))
                listed = statuses is not None and "429" in statuses
                print(f"    429 (throttle) on {method} {template}: {counter['429']} times; "
                      + ("documented there" if listed else "NOT documented there"))
                if not listed:
                    other.append(f"run '{run}': {method} {template} answered 429 ({counter['429']} times) but the document does not list 429 there")
        if undocumented:
            print("    statuses the document does not list, for requests the checks did not judge (probes with")
            print("    another method, an unparsable body and the like; informational):")
            for (method, template), counter in sorted(undocumented.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                print(f"      {method:6} {template:42} " + " ".join(f"{s}x{n}" for s, n in sorted(counter.items())))
        if run == "sign-in" and counts and not any("429" in c for c in counts.values()):
            print("    the sign-in throttle did not answer 429 during this run")

    if all_counts:
        print("\n--- the gateway's answers (status x count) by operation; columns: " + ", ".join(all_counts))
        width = max(len(f"{m} {t}") for m, _, t, _ in ops)
        for method, _, template, _ in sorted(ops, key=lambda op: (op[2], op[0])):
            cells = []
            for run, counts in all_counts.items():
                counter = counts.get((method, template))
                cells.append(" ".join(f"{s}x{n}" for s, n in sorted(counter.items())) if counter else "-")
            print(f"  {method + ' ' + template:{width}}  " + " | ".join(cells))
        for run, counts in all_counts.items():
            probes = collections.Counter()
            for key, counter in counts.items():
                if key not in documented:
                    probes.update(counter)
            if probes:
                print(f"  run '{run}': methods and paths the document does not have (schemathesis' probes): "
                      + " ".join(f"{s}x{n}" for s, n in sorted(probes.items())))

    for extra in ("unhealthy", "restarts"):
        path = os.path.join(args.reports, extra)
        if os.path.exists(path) and open(path).read().strip():
            other.append(f"platform: {open(path).read().strip()}")

    print("\n================ findings ================")
    if not findings and not other:
        print("none: every answer was one the document describes, no 5xx, every schema-violating request refused")
        return 0
    by_check = collections.Counter()
    if findings:
        print("(a curl below that sends $TOKEN needs a platform up with the demo data and, for ROLE as named:")
        print(f"  TOKEN=$(curl -s {args.gateway or 'GATEWAY'}/api/v1/auth/login -H 'content-type: application/json' \\")
        print("    -d '{\"username\":\"ROLE\",\"password\":\"cloudclass\"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')")
        print("  ids in them name what that run's platform had created)")
    for n, ((operation, code, status, _), entry) in enumerate(findings.items(), 1):
        check = CHECK_OF_CODE.get(code, code)
        by_check[check] += 1
        print(f"\n{n}. {operation}  [{check}, {code} {entry['title']}]  status {status or '-'}  runs: {', '.join(entry['runs'])}")
        for line in entry["detail"]:
            print(f"     {line}")
        if entry["body"]:
            body = entry["body"]
            print(f"     answer: {body[:300]}{' ...' if len(body) > 300 else ''}")
        if entry["curl"]:
            print(f"     reproduce: {shell_curl(entry['curl'])}")
        print(f"     (test case {entry['case']}; $TOKEN: sign in as {entry['runs'][0]})" if entry["runs"][0] in ("student", "teacher", "admin") else f"     (test case {entry['case']})")
    for n, line in enumerate(other, len(findings) + 1):
        print(f"\n{n}. {line}")
    print(f"\nfuzz-api: {len(findings) + len(other)} finding(s): "
          + ", ".join(f"{check} {count}" for check, count in by_check.items())
          + (f"{', ' if by_check else ''}other {len(other)}" if other else ""))
    return 1


if __name__ == "__main__":
    sys.exit(main())
