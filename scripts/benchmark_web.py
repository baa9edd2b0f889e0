"""Measure the web app: server time per page (in process) and page loads in real Chromium.

    python scripts/benchmark_web.py [--runs 5] [--out benchmarks/web.json]

Server side: each page rendered by Starlette's TestClient, median of ``--runs`` after one
warm-up. Browser side: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright against
uvicorn on 127.0.0.1: navigation timing of the shortlist page (DOMContentLoaded and load) and
the time from moving a weight slider to the re-ranked list being on the page. Prints a table
and writes JSON. Numbers depend on the machine and its load; the JSON records both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from recommender.web.headless import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "shortlist (HTML)": "/shortlist?city=Medan",
    "shortlist (JSON)": "/shortlist.json?city=Medan",
    "re-rank fragment": "/shortlist?city=Medan&w_hdi=0.6&_fragment=1",
    "candidate": "/candidate?city=Medan&candidate=Tokyo",
    "scenario comparison": "/scenarios?city=Medan",
    "city suggestions": "/search.json?q=meda&local=1",
    "download XLSX": "/download?city=Medan&format=xlsx",
    "download HTML report": "/download?city=Medan&format=html",
}


def server_side(runs: int) -> dict[str, dict[str, float]]:
    from starlette.testclient import TestClient

    from recommender.web import create_app

    client = TestClient(create_app())
    out = {}
    for name, url in PAGES.items():
        client.get(url)  # warm-up: tables loaded, caches filled
        times, size = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (url, r.status_code)
            size = len(r.content)
        out[name] = {"median_ms": round(statistics.median(times), 1), "bytes": size}
    return out


def browser_side(runs: int, chromium: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from recommender.web.headless import browser, serve_in_thread

    dcl, load, rerank = [], [], []
    with serve_in_thread() as base, sync_playwright() as p:
        with browser(p, executable=chromium, viewport={"width": 1366, "height": 768}) as ctx:
            page = ctx.new_page()
            page.goto(base + "/shortlist?city=Medan")  # warm-up
            for k in range(runs):
                page.goto(base + "/shortlist?city=Medan")
                nav = page.evaluate(
                    "(() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()"
                )
                dcl.append(nav[0])
                load.append(nav[1])
                before = page.get_attribute("body", "data-updated")
                t0 = time.perf_counter()
                page.evaluate(
                    "(v) => { const r = document.getElementById('w_hdi'); r.value = v;"
                    " r.dispatchEvent(new Event('input', {bubbles: true})); }",
                    f"{0.3 + 0.05 * k:.2f}",
                )
                page.wait_for_function(
                    "(b) => document.body.getAttribute('data-updated') !== b", arg=before
                )
                # includes the 200 ms debounce that waits for the slider to stop moving
                rerank.append((time.perf_counter() - t0) * 1000)
    return {
        "shortlist_domcontentloaded_ms": round(statistics.median(dcl), 1),
        "shortlist_load_ms": round(statistics.median(load), 1),
        "slider_to_reranked_ms (incl. 200 ms debounce)": round(statistics.median(rerank), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "web.json")
    ap.add_argument("--chromium", default=CHROMIUM)
    args = ap.parse_args()
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2),
        },
        "runs": args.runs,
        "server": server_side(args.runs),
    }
    if Path(args.chromium).exists():
        result["browser"] = browser_side(args.runs, args.chromium)
    for name, r in result["server"].items():
        print(f"{name:<24} {r['median_ms']:>8.1f} ms  {r['bytes'] / 1024:>7.1f} KiB")
    for name, v in result.get("browser", {}).items():
        print(f"{name:<48} {v:>8.1f} ms")
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
