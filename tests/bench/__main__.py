"""``make bench``: catalog browse throughput and latency beside this machine's ceilings.

Runs on the local PostgreSQL/Redis (or BENCH_* URLs), with the real 10,000-book catalog and then
a 100,000-book one (generated books added), under gunicorn, loaded by wrk over loopback. Each
figure is the median of BENCH_RUNS runs. Writes var/bench/report.md (and report.json).

Recommendation rows (tests/bench/recommendations.py): a book's "also liked", a logged-in
shopper's picks and a guest cart's, cached (warmed first) and uncached
(RECOMMENDATIONS_CACHE=false). ``BENCH_ONLY=recommendations`` runs only the ceiling and those
rows on the 10k catalog (a few minutes). ``BENCH_ONLY=checkout`` runs only ``POST /checkout``
alone under gunicorn beside the bare-Flask ceiling (tests/bench/checkout_api.py).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests

from config.settings import ROOT, VAR_DIR
from models import encryption

HERE = Path(__file__).resolve().parent
OUT_DIR = VAR_DIR / "bench"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bookstore_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
# gthread (as `make run`) with BENCH_GUNICORN_THREADS threads per process, or sync.
GUNICORN_CLASS = os.environ.get("BENCH_GUNICORN_CLASS", "gthread")
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
LARGE_CATALOG = int(os.environ.get("BENCH_LARGE_CATALOG", "100000"))
# "search": only the ceiling and the search rows (10k, 100k, and Elasticsearch on osmem).
ONLY = os.environ.get("BENCH_ONLY", "")
# Books in the osmem-server index of the Elasticsearch rows (it indexes ~60 documents/s here).
ELASTICSEARCH_BOOKS = int(os.environ.get("BENCH_ELASTICSEARCH_BOOKS", "1000"))

ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "CELERY_RESULT_BACKEND": REDIS_URL,
    "CELERY_BROKER_URL": BROKER_URL,
    "LOG_LEVEL": "WARNING",
    "RATELIMIT_ENABLED": "false",
    # Real services are configured, so the app needs a secret: one per benchmark run.
    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
    # ... and PII keys: one per run too (the benchmark's databases are made afresh).
    "PII_KEYS": os.environ.get("PII_KEYS") or encryption.new_key_entry("bench1"),
}
SORTS = ("bestselling", "newest", "rating", "price", "-price", "title")


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=ENV, check=True, **kwargs)


def flask_cli(*args: str) -> None:
    run(sys.executable, "-m", "flask", "--app", "wsgi", *args)


def recreate_database() -> None:
    from tests.support.database import recreate_database as recreate

    recreate(DATABASE_URL)


@contextmanager
def gunicorn(app_path: str, port: int):
    # --preload: the app is built once, before the port opens and the workers fork, so wrk
    # never starts against workers still importing the app (create_app takes seconds here:
    # without it the first run of a row timed out whole and counted 0 requests).
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app_path,
            "--preload",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(GUNICORN_WORKERS),
            *["--worker-class", GUNICORN_CLASS],
            *(["--threads", str(GUNICORN_THREADS)] if GUNICORN_CLASS == "gthread" else []),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


def wrk(base: str, paths: list[str], connections: int = CONNECTIONS) -> dict:
    path_file = OUT_DIR / "paths.txt"
    path_file.write_text("\n".join(paths) + "\n")
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, connections)),
            "-c",
            str(connections),
            "-d",
            f"{SECONDS}s",
            "--timeout",
            "5s",
            "-s",
            str(HERE / "report.lua"),
            base,
        ],
        env={**ENV, "BENCH_PATHS": str(path_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
    stats = json.loads(line.removeprefix("BENCH_JSON "))
    stats["rps"] = stats["requests"] / stats["seconds"]
    return stats


def median_of_runs(base: str, paths: list[str], connections: int = CONNECTIONS) -> dict:
    runs = [wrk(base, paths, connections) for _ in range(RUNS)]
    return {
        "connections": connections,
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p95_ms": statistics.median(r["p95_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "runs": [round(r["rps"]) for r in runs],
    }


def browse_paths(base: str) -> dict[str, list[str]]:
    """Paths a shopper's browsing produces: first pages, further pages, book details."""
    genres = [g["slug"] for g in requests.get(f"{base}/api/v1/genres", timeout=10).json()["items"]]
    first_pages, next_pages, book_ids = [], [], []
    for genre in genres[:20]:
        for sort in SORTS:
            path = f"/api/v1/books?genre={genre}&sort={sort}&limit=20"
            first_pages.append(path)
            body = requests.get(base + path, timeout=10).json()
            book_ids += [item["id"] for item in body["items"]]
            if body.get("next_cursor"):
                next_pages.append(f"{path}&cursor={body['next_cursor']}")
    rng = random.Random(7)
    rng.shuffle(book_ids)
    return {
        "first page, no filter (GET /books)": ["/api/v1/books"],
        "genre x sort first pages": first_pages,
        "second pages (cursor)": next_pages,
        "book detail": [f"/api/v1/books/{book_id}" for book_id in book_ids[:500]],
    }


def pgbench_ceiling() -> dict:
    from sqlalchemy.engine import make_url

    url = make_url(DATABASE_URL)
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
    # Named after the bench database: two benchmarks on one server do not drop each other's.
    name = f"{url.database}_pgbench"
    subprocess.run(["dropdb", *conn, "--if-exists", name], check=True)
    subprocess.run(["createdb", *conn, name], check=True)
    subprocess.run(
        ["pgbench", *conn, "-q", "-i", "-s", "10", name],
        check=True,
        capture_output=True,
    )
    figures = {}
    for label, extra in (("select-only", ["-S"]), ("TPC-B-like", [])):
        out = subprocess.run(
            ["pgbench", *conn, "-c", "8", "-j", "2", "-T", str(SECONDS), *extra, name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        tps = next(x for x in out.splitlines() if x.startswith("tps"))
        figures[label] = float(tps.split("=")[1].split()[0])
    subprocess.run(["dropdb", *conn, name], check=True)
    return figures


def measure_catalog(label: str) -> dict:
    redis.Redis.from_url(REDIS_URL).flushdb()
    with gunicorn("wsgi:app", free_port()) as base:
        paths = browse_paths(base)
        results = {}
        for name, scenario_paths in paths.items():
            log(f"{label}: {name} ({len(scenario_paths)} paths)")
            results[name] = median_of_runs(base, scenario_paths)
    results.update(measure_search(label))
    results.update(measure_recommendations(label))
    return results


def _get_each(base: str, lines: list[str]) -> None:
    for line in lines:
        path, _, header = line.partition("\t")
        headers = dict([header.split(": ", 1)]) if header else {}
        requests.get(base + path, headers=headers, timeout=30).raise_for_status()


def measure_recommendations(label: str) -> dict:
    """Recommendation rows (issue 10): a book's "also liked", a shopper's picks and a guest
    cart's, cached (every answer warmed first) and uncached (RECOMMENDATIONS_CACHE off)."""
    prepared = run(
        sys.executable, "-m", "tests.bench.recommendations", capture_output=True, text=True
    )
    scenarios = json.loads(prepared.stdout.strip().splitlines()[-1])
    results = {}
    with gunicorn("wsgi:app", free_port()) as base:
        for name, lines in scenarios.items():
            _get_each(base, lines)  # warm: every answer is in Redis before the runs
            log(f"{label}: recommendations, {name}, cached ({len(lines)} paths)")
            results[f"recommendations: {name}, cached"] = median_of_runs(base, lines)
    ENV["RECOMMENDATIONS_CACHE"] = "false"
    try:
        with gunicorn("wsgi:app", free_port()) as base:
            for name, lines in scenarios.items():
                # Both workers past their slow first request (not a warm cache: there is none).
                _get_each(base, lines[:8])
                log(f"{label}: recommendations, {name}, uncached")
                results[f"recommendations: {name}, uncached"] = median_of_runs(base, lines)
    finally:
        ENV.pop("RECOMMENDATIONS_CACHE")
    return results


def measure_search(label: str, backend: dict | None = None) -> dict:
    """Search rows (issue 15): warm = a few hot queries answered from the cache (throughput,
    BENCH_CONNECTIONS); cold = distinct queries with the cache off (titles, authors,
    description words, typos), one connection per gunicorn worker so that the latency is the
    service time, not the time queued behind 32 connections (with those, a slow row's
    requests waited past wrk's 5 s timeout and counted as none). Each gunicorn worker is
    warmed first with other queries (its connection pool and statement caches)."""
    from tests.bench.search_queries import search_paths, suggest_paths

    ENV.update(backend or {})
    results = {}
    try:
        with gunicorn("wsgi:app", free_port()) as base:
            hot = search_paths(DATABASE_URL, 50)
            for path in hot:
                requests.get(base + path, timeout=60)
            log(f"{label}: search warm ({len(hot)} cached queries)")
            results["search warm (cached, 50 hot queries)"] = median_of_runs(base, hot)
        ENV["SEARCH_CACHE"] = "false"
        cold = GUNICORN_WORKERS
        with gunicorn("wsgi:app", free_port()) as base:
            warm_up(base, search_paths(DATABASE_URL, 8 * cold, seed=99))
            answered = requests.get(base + search_paths(DATABASE_URL, 1)[0], timeout=60)
            log(f"{label}: answered by {answered.headers.get('X-Search-Backend')}")
            log(f"{label}: search cold (distinct queries, cache off)")
            results["search cold (distinct queries, cache off)"] = median_of_runs(
                base, search_paths(DATABASE_URL, 3000), cold
            )
            log(f"{label}: suggest cold (cache off)")
            results["suggest cold (prefixes, cache off)"] = median_of_runs(
                base, suggest_paths(DATABASE_URL, 3000), cold
            )
        ENV.pop("SEARCH_CACHE")
        with gunicorn("wsgi:app", free_port()) as base:
            hot = suggest_paths(DATABASE_URL, 50)
            for path in hot:
                requests.get(base + path, timeout=60)
            log(f"{label}: suggest warm ({len(hot)} cached prefixes)")
            results["suggest warm (cached, 50 hot prefixes)"] = median_of_runs(base, hot)
    finally:
        ENV.pop("SEARCH_CACHE", None)
        for name in backend or {}:
            ENV.pop(name, None)
    return results


def warm_up(base: str, paths: list[str]) -> None:
    """Requests from GUNICORN_WORKERS threads at once, so every worker serves some."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(GUNICORN_WORKERS) as pool:
        list(pool.map(lambda path: requests.get(base + path, timeout=60), paths))


def measure_elasticsearch() -> dict:
    """The search rows on the Elasticsearch backend: osmem-server (an in-memory test server,
    not a production engine) holding the ELASTICSEARCH_BOOKS most-read books."""
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    try:
        backend = {"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": server.url}
        log(f"elasticsearch: indexing the {ELASTICSEARCH_BOOKS:,} most-read books into osmem")
        started = time.perf_counter()
        run(
            sys.executable,
            "-m",
            "tests.bench.elastic_index",
            server.url,
            str(ELASTICSEARCH_BOOKS),
        )
        log(f"elasticsearch: indexed in {time.perf_counter() - started:.0f} s")
        return measure_search("elasticsearch", backend)
    finally:
        server.close()


def write_report(report: dict) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "report.json").write_text(json.dumps(report, indent=2))
    ceiling = report["ceiling"]["bare_flask"]
    lines = [
        "# Benchmark report",
        "",
        f"Run {report['started_at']} on {os.cpu_count()} cores; wrk {CONNECTIONS} connections, "
        f"{SECONDS} s per run, median of {RUNS} runs; gunicorn {GUNICORN_WORKERS} {GUNICORN_CLASS} "
        f"workers; "
        "everything on this one machine.",
        "",
        "## Ceilings of this machine",
        f"- bare Flask endpoint (20 small JSON items), same gunicorn settings: "
        f"{ceiling['rps']:.0f} req/s, p95 {ceiling['p95_ms']:.1f} ms",
    ]
    for label, tps in report["ceiling"]["pgbench"].items():
        lines.append(f"- pgbench scale 10, 8 clients, {label}: {tps:.0f} tps")
    lines.append(
        f"- load average when the report was written: {report.get('load_average', '?')} "
        "(the machine is shared: other engineers' tests and benchmarks ran meanwhile)"
    )
    if "recommendations_build_seconds" in report:
        lines.append(
            f"- recommendations build (`flask recommendations build`, 10k books): "
            f"{report['recommendations_build_seconds']:.0f} s"
        )
    for catalog, results in report["catalog"].items():
        lines += [
            "",
            f"## {catalog}",
            "",
            "| scenario | conns | req/s | of ceiling | p50 ms | p95 ms | p99 ms | errors "
            "| runs (req/s) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in results.items():
            lines.append(
                f"| {name} | {r.get('connections', CONNECTIONS)} | {r['rps']:.0f} | "
                f"{r['rps'] / ceiling['rps']:.0%} | "
                f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{r['errors']} | {r['runs']} |"
            )
    checkout = report.get("checkout")
    if checkout:
        latency, throughput = checkout["latency"], checkout["throughput"]
        answer, confirmed = latency["checkout_202_ms"], latency["checkout_to_confirmed_ms"]
        lines += [
            "",
            "## Checkout (tests/bench/checkout.py: API in process, one worker, "
            f"concurrency {checkout['worker_concurrency']})",
            "",
            f"- {latency['orders']} orders at {latency['rate_per_second']:g}/s: 202 answer median "
            f"{answer['median']:.0f} ms, p95 {answer['p95']:.0f} ms; POST /checkout to `confirmed` "
            f"median {confirmed['median']:.0f} ms, p95 {confirmed['p95']:.0f} ms, "
            f"max {confirmed['max']:.0f} ms",
            f"- one worker draining {throughput['orders']} placed orders: "
            f"{throughput['worker_confirmed_per_second']:.1f} confirmed/s, "
            f"{throughput['worker_all_steps_done_per_second']:.1f} orders/s with all six steps; "
            f"the in-process API placed {throughput['api_checkouts_per_second_in_process']:.0f} "
            "checkouts/s",
        ]
    checkout_api = report.get("checkout_api")
    if checkout_api:
        alone, bare = checkout_api["checkout"], checkout_api["ceiling_bare_flask"]
        lines += [
            "",
            f"## POST /checkout alone (tests/bench/checkout_api.py: gunicorn "
            f"{checkout_api['gunicorn']}, {checkout_api['connections']} connections)",
            "",
            f"- {alone['rps']:.0f} checkouts/s (runs {alone['runs_rps']}), p50 "
            f"{alone['p50_ms']:.0f} ms, p95 {alone['p95_ms']:.0f} ms; bare-Flask ceiling in the "
            f"same run {bare['rps']:.0f} req/s: ratio {checkout_api['checkout_of_ceiling']:.3f}",
        ]
    lines += _linked_reports()
    lines += [
        "",
        "Targets (SPEC section 7): p95 <= 100 ms for listing, >= 2,000 browse/s, checkout end "
        "to end <= 2 s, >= 500 checkouts/s; search p95 <= 100 ms cold, >= 1,000 warm searches/s,"
        " suggest p95 <= 20 ms cold.",
    ]
    (OUT_DIR / "report.md").write_text("\n".join(lines) + "\n")


def _linked_reports() -> list[str]:
    """Sections for the reports of `make profile`, `make load` and the checkout layouts, when
    they were run (each writes its own file beside this one)."""
    lines = []
    load = OUT_DIR / "load.json"
    if load.exists():
        data = json.loads(load.read_text())
        knee = data.get("knee")
        lines += ["", "## Holiday load (`make load`, details in [load.md](load.md))", ""]
        if knee:
            lines.append(
                f"- knee: {knee['rps']:.0f} requests/s at {knee['users']} users, "
                f"p95 {knee['p95_ms']:.0f} ms, no errors"
            )
        lines += [f"- ![{name}]({name})" for name in data.get("pictures", [])]
    if (OUT_DIR / "profile.md").exists():
        lines += ["", "Profiles of one order and one cached page: [profile.md](profile.md)."]
    if (OUT_DIR / "explain.md").exists():
        lines += ["", "Query plans of the list queries: [explain.md](explain.md)."]
    return lines


def _osmem_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("osmem_server") is not None


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (Debian: apt-get install wrk)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if ONLY == "checkout":
        run(sys.executable, "-m", "tests.bench.checkout_api")
        return
    report = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "catalog": {}}
    log("ceilings")
    with gunicorn("tests.bench.ceiling:app", free_port()) as base:
        report["ceiling"] = {"bare_flask": median_of_runs(base, ["/items"])}
    only_recommendations = ONLY == "recommendations"
    report["ceiling"]["pgbench"] = {} if only_recommendations else pgbench_ceiling()
    searching_only = ONLY == "search"
    measure = measure_search if searching_only else measure_catalog
    log("database and real catalog")
    recreate_database()
    flask_cli("catalog", "import")
    if not searching_only:
        started = time.perf_counter()
        flask_cli("recommendations", "build")
        report["recommendations_build_seconds"] = round(time.perf_counter() - started, 1)
    if only_recommendations:
        # A short pass over the recommendation rows alone (10k books, no checkout).
        report["catalog"]["10,000 real books"] = measure_recommendations("10k")
        report["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
        write_report(report)
        log(f"report written to {OUT_DIR / 'report.md'}")
        print((OUT_DIR / "report.md").read_text())
        return
    report["catalog"]["10,000 real books (PostgreSQL search)"] = measure("10k")
    if _osmem_installed():
        report["catalog"][
            f"Elasticsearch backend on osmem-server (in-memory test server, not a production "
            f"engine): the {ELASTICSEARCH_BOOKS:,} most-read books"
        ] = measure_elasticsearch()
    log(f"growing the catalog to {LARGE_CATALOG:,} books")
    started = time.perf_counter()
    flask_cli("catalog", "import", "--generate", str(LARGE_CATALOG - 10_000))
    flask_cli("search", "reindex")
    report["generate_seconds"] = round(time.perf_counter() - started, 1)
    report["catalog"][f"{LARGE_CATALOG:,} books (PostgreSQL search)"] = measure("100k")
    if not searching_only:
        log("query plans of the catalog reads (var/bench/explain.md)")
        run(sys.executable, "-m", "tests.bench.explain")
        log("checkout")
        run(sys.executable, "-m", "tests.bench.checkout", stdout=subprocess.DEVNULL)
        report["checkout"] = json.loads((OUT_DIR / "checkout.json").read_text())
        log("POST /checkout alone")
        try:
            run(sys.executable, "-m", "tests.bench.checkout_api", stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError:
            log("POST /checkout alone FAILED (its row is left out; see its output above)")
        else:
            report["checkout_api"] = json.loads((OUT_DIR / "checkout_api.json").read_text())
    report["load_average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    write_report(report)
    log(f"report written to {OUT_DIR / 'report.md'}")
    print((OUT_DIR / "report.md").read_text())


if __name__ == "__main__":
    main()
