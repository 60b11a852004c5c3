"""Latency of the web studio (`irgmotion serve`) over real HTTP: one user, then several users at once.

    python benchmarks/serve_latency.py [--requests 12] [--users 8] [--per-user 3] [--max-rounds 1]
                                       [--out benchmarks/results/serve_latency.json]

The studio runs in this process (uvicorn on a thread, the embedded bundle, warmed up by one generation); clients
are httpx on threads. One user sends --requests goals one after another; then --users users each send --per-user
goals one after another, all users at once. Every answer is checked (status 200, its own goal); prints p50/p90 of
the request latency and how many goals the model decoded per call, and writes them to --out with the load average
(the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from irgmotion import MotionReasoner  # noqa: E402
from irgmotion.app import BackgroundServer, create_app  # noqa: E402

GOALS = [
    "a person jumps twice", "a person walks forward", "a person waves the right hand", "a person squats down",
    "a person turns around to the left", "a person kicks with the left leg", "a person walks backward",
    "a person raises both arms", "a person runs forward", "a person sits down", "a person jumps forward",
    "a person walks in a circle",
]


def quantile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q * 100))  # linear interpolation between the closest ranks


def ask(client: httpx.Client, url: str, goal: str, max_rounds: int) -> tuple[float, float]:
    """The request's latency, and the seconds of the model's decoding call it was part of (as the answer says)."""
    started = time.perf_counter()
    response = client.post(url + "api/generate", json={"goal": goal, "max_rounds": max_rounds}, timeout=600)
    seconds = time.perf_counter() - started
    if response.status_code != 200 or response.json()["goal"] != goal:
        raise SystemExit(f"request for {goal!r} failed: {response.status_code} {response.text[:200]}")
    return seconds, response.json()["seconds"]


def summary(answers: list[tuple[float, float]], expected: int) -> dict:
    latencies = [a[0] for a in answers]
    return {"requests": expected, "answered": len(latencies), "p50_s": quantile(latencies, 0.5),
            "p90_s": quantile(latencies, 0.9), "mean_s": statistics.fmean(latencies), "max_s": max(latencies),
            "model_p50_s": quantile([a[1] for a in answers], 0.5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=12, help="requests of the single user")
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--per-user", type=int, default=3, help="requests each concurrent user sends, one after another")
    ap.add_argument("--max-rounds", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "serve_latency.json"))
    a = ap.parse_args()
    load_start = os.getloadavg()
    app = create_app(MotionReasoner.from_pretrained())
    studio = app.state.studio
    warmup = studio.warmup()
    report = {"cores": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in load_start],
              "max_rounds": a.max_rounds, "warmup_s": warmup, "batch_window_s": studio.worker.batch_window}
    with BackgroundServer(app) as server, httpx.Client() as client:
        one = [ask(client, server.url, GOALS[i % len(GOALS)], a.max_rounds) for i in range(a.requests)]
        report["one_user"] = summary(one, a.requests)
        before = dict(studio.worker.stats)
        latencies, lock, failures = [], threading.Lock(), []

        def user(u: int) -> None:
            try:
                with httpx.Client() as own:
                    for k in range(a.per_user):
                        answer = ask(own, server.url, GOALS[(u * a.per_user + k) % len(GOALS)], a.max_rounds)
                        with lock:
                            latencies.append(answer)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(f"user {u}: {exc}")

        started = time.perf_counter()
        threads = [threading.Thread(target=user, args=(u,)) for u in range(a.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        if failures:
            raise SystemExit("; ".join(failures))
        calls = studio.worker.stats["generate_calls"] - before["generate_calls"]
        goals = studio.worker.stats["generated_goals"] - before["generated_goals"]
        report["concurrent"] = {"users": a.users, **summary(latencies, a.users * a.per_user),
                                "wall_s": wall, "generate_calls": calls, "goals_per_call": goals / calls,
                                "largest_batch": studio.worker.stats["largest_batch"]}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    o, c = report["one_user"], report["concurrent"]
    print(f"cores {report['cores']}, load average at start {report['load_average_at_start'][0]}, "
          f"at end {report['load_average_at_end'][0]}; warm-up generation {warmup:.2f} s")
    print(f"one user, {o['requests']} goals of {a.max_rounds} round(s): p50 {o['p50_s']:.2f} s, p90 {o['p90_s']:.2f} s "
          f"(the model's decoding call: p50 {o['model_p50_s']:.2f} s)")
    print(f"{c['users']} users at once, {c['requests']} goals: {c['answered']} answered, p50 {c['p50_s']:.2f} s, "
          f"p90 {c['p90_s']:.2f} s (decoding call p50 {c['model_p50_s']:.2f} s), {c['wall_s']:.2f} s in all, "
          f"{c['generate_calls']} generate calls "
          f"({c['goals_per_call']:.2f} goals per call, largest batch {c['largest_batch']})")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
