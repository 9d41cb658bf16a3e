"""Benchmark: the pages, the API and submissions served the way production serves them.

Seeds N cases (bench/seed.py, the same data as bench_lists.py), starts the public and the staff
surface under gunicorn and a hello-world Flask app beside them with the same gunicorn settings,
drives each with wrk at the same settings, and prints req/s, p50, p95, p99 and the ratio to the
hello-world of the same run. Submissions (API and form) are checked afterwards: every answer
wrk counted as a success must be a case in the database, or the run fails ("lost").

    python bench/bench_http.py --cases 100000                       # SQLite file in a temp folder
    python bench/bench_http.py --cases 1000000 --url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/bench_http.py --reuse --only records               # the same database, fewer pages

Needs wrk (Debian: apt-get install wrk) and gunicorn. Rate limits are switched off for the
servers under test: every request comes from one address, and the limits would answer 429.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
STATE = "bench_http_state.json"

LUA = r"""
local threads = {}
ok, bad = 0, 0
function setup(thread) table.insert(threads, thread) end
%(request)s
function response(status, headers, body)
  if status >= 200 and status < 400 then ok = ok + 1 else
    if bad == 0 then io.write("FIRST_ERROR " .. status .. " " .. string.sub(body, 1, 400) .. "\n") end
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local good, errors = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); errors = errors + t:get("bad") end
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50": %%d, "p95": %%d, "p99": %%d, ' ..
    '"ok": %%d, "bad": %%d, "socket_errors": %%d}\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), good, errors,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

POST_REQUEST = r"""
local counter = 0
request = function()
  counter = counter + 1
  local body = (string.gsub(%(template)s, "{n}", tostring(counter)))
  return wrk.format("POST", nil, {["Content-Type"] = %(content_type)s%(extra)s}, body)
end
"""


@dataclass
class Result:
    """One row of the table."""

    label: str
    req_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    ok: int
    bad: int
    ratio: float = 0.0
    note: str = ""


def lua_string(value: str) -> str:
    """A Lua string literal."""
    return json.dumps(value, ensure_ascii=False)


def wrk(url: str, args, *, headers: dict[str, str] | None = None, post: tuple[str, str, dict] | None = None,
        connections: int | None = None) -> dict:
    """Run wrk against `url`; the figures its Lua `done` prints."""
    request = ""
    if post is not None:
        template, content_type, extra = post
        extra_lua = "".join(f", [{lua_string(k)}] = {lua_string(v)}" for k, v in extra.items())
        request = POST_REQUEST % {"template": lua_string(template),
                                  "content_type": lua_string(content_type), "extra": extra_lua}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % {"request": request})
        script = fh.name
    cmd = ["wrk", f"-t{args.threads}", f"-c{connections or args.connections}", f"-d{args.duration}s",
           "--timeout", "30s", "-s", script]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    run = subprocess.run(cmd + [url], capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"wrk failed: {run.stderr}{run.stdout}")
    out = run.stdout
    os.unlink(script)
    first_error = re.search(r"^FIRST_ERROR (.*)$", out, re.M)
    if first_error:
        print("    first error:", first_error[1][:300], flush=True)
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    return json.loads(match[1])


def to_result(label: str, figures: dict) -> Result:
    """wrk's figures as a table row (latencies from µs to ms)."""
    return Result(label, figures["requests"] / figures["seconds"], figures["p50"] / 1000, figures["p95"] / 1000,
                  figures["p99"] / 1000, figures["ok"], figures["bad"] + figures["socket_errors"])


class Server:
    """A gunicorn process serving one WSGI app on a local port."""

    def __init__(self, target: str, port: int, env: dict[str, str], args, chdir: Path = ROOT,
                 surface: str = "public"):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # The project's production settings (interact/deploy), the hello-world included, so that
        # both run with the same worker class, threads and keep-alive; workers as asked.
        cmd = [sys.executable, "-m", "gunicorn", "-c", f"python:interact.deploy.{surface}", "--chdir", str(chdir),
               "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "warning"]
        if args.gthreads:
            cmd += ["--threads", str(args.gthreads)]
        if args.worker_class:
            cmd += ["-k", args.worker_class]
        self.proc = subprocess.Popen(cmd + [target], env=dict(env, PYTHONPATH=str(ROOT)), start_new_session=True)

    def wait(self, path: str = "/") -> None:
        """Block until the server answers `path`."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + path, timeout=5).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url} did not start")

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def staff_cookie(base: str, username: str, password: str) -> str:
    """Sign in on the staff surface; the Cookie header of the signed-in session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/staff/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = urllib.parse.urlencode({"csrf_token": token[1], "username": username, "password": password}).encode()
    landing = opener.open(base + "/staff/login", data).read().decode()
    if "logout" not in landing:
        raise RuntimeError("staff sign-in failed")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def form_session(base: str, kind: str) -> tuple[str, str]:
    """A public session cookie and the CSRF token of a submission form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/cases/new/{kind}").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return "; ".join(f"{c.name}={c.value}" for c in jar), token[1]


def last_page_path(base: str, given: str = "") -> str:
    """The link to the last page of /records, read off its first page (unless `given`)."""
    if given:
        return given
    page = urllib.request.urlopen(base + "/records").read().decode()
    link = re.search(r'href="(/records\?[^"]+)"[^>]*rel="last"', page)
    if link:
        return link[1].replace("&amp;", "&")
    numbers = [int(n) for n in re.findall(r"page=([0-9]+)", page)]
    return f"/records?page={max(numbers)}"


def case_count(url: str) -> int:
    """How many cases the database holds."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM cases")).scalar_one()
    engine.dispose()
    return n


def seed_database(url: str, cases: int, env: dict[str, str], state: dict | None = None) -> dict:
    """Migrate a fresh database and fill it (in this process); with `state`, migrate the database
    seeded before to this code's schema and refresh what depends on it."""
    os.environ.update(env)
    import seed
    from flask_migrate import upgrade

    from interact import create_app

    if state is None:
        seed.reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        if state is not None:
            from interact.domain.db import db
            from interact.services import publication

            if publication.public_version() is None:  # migrated before its migration wrote one
                publication.touch_public()
                db.session.commit()
            return dict(state, deep_cursor=seed.deep_cursor())
        t0 = time.perf_counter()
        seeded = seed.fill(cases)
        print(f"seeded {cases:,} cases in {time.perf_counter() - t0:.0f} s", flush=True)
    return asdict(seeded)


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="database URL (default: a SQLite file in --dir)")
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "interact-bench-http"))
    parser.add_argument("--reuse", action="store_true", help="keep the database seeded by the last run")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--submit-connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--gthreads", type=int, default=0, help="gunicorn threads per worker (default: interact/deploy's)")
    parser.add_argument("--worker-class", default="", help="gunicorn worker class (default: interact/deploy's, gthread)")
    parser.add_argument("--warm", type=int, default=20, help="requests per page before it is measured")
    parser.add_argument("--seed-only", action="store_true", help="seed the database, then stop")
    parser.add_argument("--only", default="", help="comma-separated substrings of the rows to run")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    parser.add_argument("--redis", default="", help="INTERACT_REDIS_URL of the servers (page cache, rate limits)")
    parser.add_argument("--last-page", default="", help="the path of the records' last page, if known")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    url = args.url or f"sqlite:///{work / 'bench.db'}"
    env = dict(os.environ, INTERACT_DATABASE_URL=url, INTERACT_SECRET_KEY="bench-secret",
               INTERACT_INSTANCE_PATH=str(work / "instance"), INTERACT_UPLOAD_DIR=str(work / "uploads"),
               INTERACT_RATELIMIT_ENABLED="0")
    if args.redis:
        env["INTERACT_REDIS_URL"] = args.redis
    state_file = work / STATE
    if args.reuse and state_file.exists():
        seeded = seed_database(url, args.cases, env, json.loads(state_file.read_text()))
    else:
        seeded = seed_database(url, args.cases, env)
    state_file.write_text(json.dumps(seeded))
    if args.seed_only:
        return

    servers = {
        "hello": Server("hello:app", 8101, env, args, chdir=HERE),
        "public": Server("interact.wsgi:public_app", 8102, env, args),
        "staff": Server("interact.wsgi:staff_app", 8103, env, args, surface="staff"),
    }
    rows: list[Result] = []
    try:
        for name, server in servers.items():
            server.wait("/" if name == "hello" else "/healthz")
        pub, staff = servers["public"].url, servers["staff"].url
        cookie = staff_cookie(staff, seeded["handler"], "Bench-Passw0rd-2026!")
        dept, month = seeded["busy_department"], seeded["month"]
        pages = [
            ("hello-world (ceiling)", servers["hello"].url + "/", {}),
            ("/ home", pub + "/", {}),
            ("/records page 1", pub + "/records", {}),
            ("/records?page=50 (deepest by number)", pub + "/records?page=50", {}),
            ("/records?older= (halfway down)", pub + f"/records?older={seeded['deep_cursor']}", {}),
            ("/records last page", pub + last_page_path(pub, args.last_page), {}),
            ("/records?department=", pub + f"/records?department={dept}", {}),
            ("/records?month=", pub + f"/records?month={month}", {}),
            ("/records/<number>", pub + f"/records/{seeded['record_number']}", {}),
            ("/api/v1/records", pub + "/api/v1/records", {}),
            ("/api/v1/records?cursor= (halfway)", pub + f"/api/v1/records?cursor={seeded['deep_cursor']}", {}),
            ("/api/v1/records/<number>", pub + f"/api/v1/records/{seeded['record_number']}", {}),
            ("/feeds/records.atom", pub + "/feeds/records.atom", {}),
            (f"/feeds/departments/{dept}.atom", pub + f"/feeds/departments/{dept}.atom", {}),
            ("/staff/ (handler's dashboard)", staff + "/staff/", {"Cookie": cookie}),
            ("/staff/?handling_page=10 (queue)", staff + "/staff/?handling_page=10", {"Cookie": cookie}),
            ("/staff/cases/<number>", staff + f"/staff/cases/{seeded['case_number']}", {"Cookie": cookie}),
        ]
        only = [o for o in args.only.split(",") if o]
        for label, target, headers in pages:
            if only and not label.startswith("hello") and not any(o in label for o in only):
                continue
            try:  # 200, and warm: enough requests that every worker process has served the page once
                for _ in range(args.warm):
                    urllib.request.urlopen(urllib.request.Request(target, headers=headers), timeout=60).read()
            except OSError as exc:  # too slow to serve at all (a worker timeout), or an error page
                rows.append(Result(label, 0, 0, 0, 0, 0, 1, note=f"not served: {exc}"))
                print(f"  {label}: not served ({exc})", flush=True)
                continue
            rows.append(to_result(label, wrk(target, args, headers=headers)))
            print(f"  {rows[-1].label}: {rows[-1].req_s:,.0f} req/s", flush=True)

        if not only or any(o in "submissions" for o in only):
            before = case_count(url)
            api_body = json.dumps({"kind": "consultation", "title": "咨询公积金提取条件 {n}",
                                   "content": "请问在本市购买首套住房，提取住房公积金需要准备哪些材料？编号 {n}",
                                   "name": "李四", "phone": "13800001234", "publish": True}, ensure_ascii=False)
            figures = wrk(pub + "/api/v1/cases", args, connections=args.submit_connections,
                          post=(api_body, "application/json", {}))
            rows.append(to_result("POST /api/v1/cases", figures))
            form_cookie, token = form_session(pub, "consultation")
            form_body = urllib.parse.urlencode({
                "csrf_token": token, "title": "建议增设公交线路 {n}", "content": "幸福路一带居民出行不便，建议增设公交线路。{n}",
                "name": "王五", "phone": "13800005678", "publish": "y", "homepage": "", "captcha": ""})
            figures2 = wrk(pub + "/cases/new/consultation", args, connections=args.submit_connections,
                           post=(form_body, "application/x-www-form-urlencoded", {"Cookie": form_cookie}))
            rows.append(to_result("POST /cases/new/<kind> (form)", figures2))
            created = case_count(url) - before
            acknowledged = figures["ok"] + figures2["ok"]
            # Requests still in flight when wrk stops are stored but not counted: stored >= acknowledged.
            note = f"{acknowledged} acknowledged, {created} stored, {max(0, acknowledged - created)} lost"
            rows[-1].note = rows[-2].note = note
            print("  submissions:", note, flush=True)
            if created < acknowledged:
                raise SystemExit(f"LOST SUBMISSIONS: {note}")
    finally:
        for server in servers.values():
            server.stop()

    ceiling = rows[0].req_s
    for row in rows:
        row.ratio = row.req_s / ceiling
    print(f"\n{seeded['cases']:,} cases, {url.split(':')[0]}, gunicorn {args.workers} workers "
          f"({args.worker_class or 'interact/deploy settings'}{f', {args.gthreads} threads' if args.gthreads else ''}), "
          f"wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s (submissions -c{args.submit_connections})\n")
    print("| Page | req/s | of hello | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r.label} | {r.req_s:,.0f} | {r.ratio:.0%} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} "
              f"| {r.bad}{' — ' + r.note if r.note else ''} |")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
