"""The web studio's API (`irgmotion serve`, irgmotion/app/server.py) on the embedded bundle, through Starlette's
TestClient: every endpoint, bad input, limits, concurrent requests batched into fewer model calls, downloads that
parse. Model outputs are not checked word for word (any LLM in the bundle passes): structure, and agreement with the
Python API."""
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the studio needs the serve extra: pip install 'irgmotion[serve]'")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from starlette.testclient import TestClient  # noqa: E402

from irgmotion.app import server as studio_server  # noqa: E402
from irgmotion.app.server import MAX_BODY_BYTES, Results, create_app  # noqa: E402
from irgmotion.cli import main  # noqa: E402
from irgmotion.reason.bundle import EMBEDDED  # noqa: E402

pytestmark = pytest.mark.skipif(not (EMBEDDED / "manifest.json").is_file(), reason="no embedded bundle")
GOAL = "a person jumps twice"


@pytest.fixture(scope="module")
def reasoner():
    from irgmotion import MotionReasoner
    r = MotionReasoner.from_pretrained(max_rounds=1)
    calls = []  # the goals of each generate call the studio makes
    real = r.generate

    def counting(text, **kwargs):
        calls.append(list(text) if isinstance(text, list) else [text])
        return real(text, **kwargs)

    r.generate = counting
    r.generate_calls = calls
    return r


@pytest.fixture(scope="module")
def client(reasoner):
    with TestClient(create_app(reasoner, batch_window=0.3)) as c:
        yield c


@pytest.fixture(scope="module")
def result(client):
    response = client.post("/api/generate", json={"goal": GOAL, "max_rounds": 2})
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status: int, field: str | None, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "field"} and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in body["error"]
    if field is not None:
        assert body["field"] == field and body["error"].startswith(f"{field}: ")
    for word in words:
        assert word in body["error"], body["error"]
    return body


# ---- health, the page -------------------------------------------------------------------------------------------
def test_health_names_the_bundle_limits_and_skeleton(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["bundle"] == str(EMBEDDED)
    assert {"bvh", "npy", "gif"} <= set(health["formats"])
    skeleton = health["skeleton"]
    assert len(skeleton["joints"]) == 22 and skeleton["fps"] == 20
    assert len(skeleton["colours"]) == len(skeleton["chains"])
    assert sorted({j for chain in skeleton["chains"] for j in chain}) == list(range(22))
    assert health["limits"]["body_bytes"] == MAX_BODY_BYTES and health["limits"]["text_chars"] == 2000


def test_mp4_is_offered_only_with_ffmpeg(client, result, monkeypatch):
    monkeypatch.setattr("irgmotion.motion.render.mp4_available", lambda: False)
    assert "mp4" not in client.get("/api/health").json()["formats"]
    assert_error(client.get(f"/api/results/{result['id']}/rounds/1.mp4"), 404, "format", "pip install imageio-ffmpeg")


def test_the_page_and_its_files_come_from_the_server(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" not in page.text  # the players are built by app.js
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    for path in ("/static/app.js", "/static/studio.css", "/static/vendor/three.module.min.js",
                 "/static/vendor/OrbitControls.js", "/static/vendor/LICENSE"):
        assert client.get(path).status_code == 200, path
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/studio.css").text):
        assert "http://" not in text and "https://" not in text  # nothing from a CDN
    assert 'from"three"' in client.get("/static/vendor/OrbitControls.js").text.replace(" ", "").replace("'", '"')


# ---- generate ------------------------------------------------------------------------------------------------
def test_generate_returns_every_round_as_the_api_makes_it(client, reasoner, result):
    assert set(result) >= {"id", "goal", "analysis", "answer_round", "rounds", "warnings", "seconds", "fps"}
    assert result["goal"] == GOAL and isinstance(result["analysis"], str) and result["max_rounds"] == 2
    motion = reasoner.generate(GOAL, max_rounds=2)  # greedy: the same trace
    assert len(result["rounds"]) == len(motion.rounds)
    assert result["answer_round"] == motion.answer_round + 1
    for k, (got, made) in enumerate(zip(result["rounds"], motion.rounds), 1):
        assert got["round"] == k and got["source"] == "model" and got["goal"] == GOAL
        assert got["assessment"] == made.assessment and got["refinement"] == made.refinement
        assert got["level"] == made.level
        if made.joints is None:
            assert got["joints"] is None and got["frames"] == 0
            continue
        joints = np.array(got["joints"])
        assert joints.shape == made.joints.shape == (got["frames"], 22, 3)
        assert np.allclose(joints, made.joints, atol=0.0005 + 1e-6)  # metres rounded to millimetres
        assert np.allclose(joints * 1000, np.round(joints * 1000), atol=1e-6)
    again = client.get(f"/api/results/{result['id']}").json()
    assert again["rounds"][0]["joints"] == result["rounds"][0]["joints"]


def test_eight_concurrent_goals_are_all_answered_in_fewer_model_calls(client, reasoner):
    goals = [f"a person walks forward {n} steps" for n in range(2, 10)]
    before = len(reasoner.generate_calls)
    start = threading.Barrier(len(goals))
    answers = [None] * len(goals)

    def ask(i):
        start.wait()
        answers[i] = client.post("/api/generate", json={"goal": goals[i], "max_rounds": 1})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(goals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None and a.status_code == 200 for a in answers), [a and a.text[:200] for a in answers]
    bodies = [a.json() for a in answers]
    assert [b["goal"] for b in bodies] == goals  # each request got its own goal's answer
    assert len({b["id"] for b in bodies}) == len(goals)
    calls = reasoner.generate_calls[before:]
    assert sorted(g for call in calls for g in call) == sorted(goals)  # every goal decoded once, none lost
    assert len(calls) < len(goals)
    assert max(b["batched_with"] for b in bodies) == max(len(c) for c in calls) > 1
    for b in bodies:
        assert client.get(f"/api/results/{b['id']}").status_code == 200


@pytest.mark.parametrize("body,field,words", [
    ({}, "goal", ["missing"]),
    ({"max_rounds": 1}, "goal", ["missing"]),
    ({"goal": ""}, "goal", ["empty"]),
    ({"goal": "   "}, "goal", ["empty"]),
    ({"goal": "x" * 10_000}, "goal", ["10000 characters", "2000"]),
    ({"goal": 7}, "goal", ["text"]),
    ({"goal": "a person\x1b[31m jumps"}, "goal", ["control character"]),
    ({"goal": GOAL, "rounds": 2}, "rounds", ["unknown field", "max_rounds"]),
    ({"goal": GOAL, "max_rounds": 0}, "max_rounds", ["from 1 to 10", "got 0"]),
    ({"goal": GOAL, "max_rounds": 11}, "max_rounds", ["from 1 to 10"]),
    ({"goal": GOAL, "max_rounds": "2"}, "max_rounds", ["integer"]),
    ({"goal": GOAL, "max_rounds": True}, "max_rounds", ["integer"]),
    ({"goal": GOAL, "seed": -1}, "seed", ["from 0 to 4294967295"]),
    ({"goal": GOAL, "seed": 2.5}, "seed", ["integer"]),
    ({"goal": GOAL, "sample": "yes"}, "sample", ["true or false"]),
])
def test_bad_generate_bodies_are_refused_naming_the_field(client, body, field, words):
    assert_error(client.post("/api/generate", json=body), 400, field, *words)


@pytest.mark.parametrize("content,words", [
    (b"", ["empty", '{"goal": "..."}']),
    (b"not json", ["not valid JSON"]),
    (b'["a person jumps"]', ["JSON object", "list"]),
    (b'{"goal": "a person jumps"', ["not valid JSON"]),
    (b"\xff\xfe{}", ["not valid JSON"]),
    (b"[" * 60_000, ["nested too deeply"]),
])
def test_a_body_that_is_not_a_json_object_is_refused(client, content, words):
    assert_error(client.post("/api/generate", content=content, headers={"Content-Type": "application/json"}),
                 400, "body", *words)


def test_a_1mb_body_is_refused_with_413(client, reasoner):
    before = len(reasoner.generate_calls)
    big = json.dumps({"goal": "a person jumps " * 70_000}).encode()
    assert len(big) > 1_000_000
    assert_error(client.post("/api/generate", content=big, headers={"Content-Type": "application/json"}),
                 413, "body", str(MAX_BODY_BYTES))

    def chunks():  # no Content-Length: the limit holds while the body streams in
        for i in range(0, len(big), 16_384):
            yield big[i:i + 16_384]

    assert_error(client.post("/api/generate", content=chunks()), 413, "body")
    assert len(reasoner.generate_calls) == before


# ---- steer ----------------------------------------------------------------------------------------------------
def test_steer_adds_the_users_round_freshly_assessed(client, reasoner, result):
    n = len(client.get(f"/api/results/{result['id']}").json()["rounds"])
    response = client.post("/api/steer", json={"id": result["id"], "round": 1, "instruction": "jump higher"})
    assert response.status_code == 200, response.text
    body = response.json()
    new = body["round"]
    assert body["id"] == result["id"] and new["round"] == n + 1
    assert new["source"] == "user" and new["instruction"] == "jump higher" and new["from_round"] == 1
    assert new["goal"] == body["goal"]
    source = client.app.state.studio.results.get(result["id"]).rounds[0]  # the stored round: its features
    steered = reasoner.steer(GOAL, source.features, "jump higher")
    assert body["goal"] == steered.goal
    if steered.motion.joints is None:
        assert new["joints"] is None
    else:
        joints = np.array(new["joints"])
        assert joints.shape == steered.motion.joints.shape and new["frames"] == len(joints)
        verdict = reasoner.assess(steered.goal, steered.motion.features)
        assert new["assessment"] == verdict["assessment"] and new["level"] == verdict["level"]
        assert new["refinement"] == verdict["refinement"] and new["level_name"] == verdict["level_name"]
    stored = client.get(f"/api/results/{result['id']}").json()["rounds"]
    assert len(stored) == n + 1 and stored[-1]["instruction"] == "jump higher"


@pytest.mark.parametrize("body,status,field,words", [
    ({"round": 1, "instruction": "jump higher"}, 400, "id", ["missing"]),
    ({"id": "RID", "instruction": "jump higher"}, 400, "round", ["missing"]),
    ({"id": "RID", "round": 1}, 400, "instruction", ["missing"]),
    ({"id": "nope", "round": 1, "instruction": "jump higher"}, 404, "id", ["no result 'nope'"]),
    ({"id": 5, "round": 1, "instruction": "jump higher"}, 400, "id", ["result id"]),
    ({"id": "RID", "round": 0, "instruction": "jump higher"}, 400, "round", ["from 1 to"]),
    ({"id": "RID", "round": 99, "instruction": "jump higher"}, 400, "round", ["from 1 to", "got 99"]),
    ({"id": "RID", "round": "1", "instruction": "jump higher"}, 400, "round", ["integer"]),
    ({"id": "RID", "round": 1, "instruction": ""}, 400, "instruction", ["empty", "jump higher"]),
    ({"id": "RID", "round": 1, "instruction": "y" * 10_000}, 400, "instruction", ["10000 characters"]),
    ({"id": "RID", "round": 1, "instruction": "x", "goal": "y"}, 400, "goal", ["unknown field"]),
])
def test_bad_steer_bodies_are_refused_naming_the_field(client, result, body, status, field, words):
    body = {k: result["id"] if v == "RID" else v for k, v in body.items()}
    assert_error(client.post("/api/steer", json=body), status, field, *words)


# ---- results and downloads -----------------------------------------------------------------------------------------
def test_downloads_parse(client, result):
    rid = result["id"]
    frames = result["rounds"][0]["frames"]
    bvh = client.get(f"/api/results/{rid}/rounds/1.bvh")
    assert bvh.status_code == 200 and bvh.text.startswith("HIERARCHY")
    assert f"irgmotion_{rid}_round1.bvh" in bvh.headers["content-disposition"]
    assert f"Frames: {frames}" in bvh.text and "Frame Time: 0.05" in bvh.text
    npy = client.get(f"/api/results/{rid}/rounds/1.npy")
    joints = np.load(io.BytesIO(npy.content))
    assert joints.shape == (frames, 22, 3)
    assert np.allclose(joints, np.array(result["rounds"][0]["joints"]), atol=0.0005 + 1e-6)
    gif = client.get(f"/api/results/{rid}/rounds/1.gif")
    assert gif.status_code == 200 and gif.headers["content-type"] == "image/gif" and gif.content[:6] == b"GIF89a"
    from PIL import Image
    assert Image.open(io.BytesIO(gif.content)).n_frames == frames


@pytest.mark.parametrize("path,status,field,words", [
    ("/api/results/nope", 404, "id", ["no result"]),
    ("/api/results/nope/rounds/1.bvh", 404, "id", ["no result"]),
    ("/api/results/RID/rounds/99.bvh", 404, "round", ["from 1 to", "'99'"]),
    ("/api/results/RID/rounds/0.npy", 404, "round", ["from 1 to"]),
    ("/api/results/RID/rounds/x.npy", 404, "round", ["'x'"]),
    ("/api/results/RID/rounds/1.exe", 400, "format", ["bvh, npy, gif, mp4"]),
    ("/api/results/RID/rounds/1", 400, "format", ["ROUND.FORMAT"]),
    ("/api/nothing", 404, None, ["no such endpoint"]),
])
def test_unknown_results_rounds_and_formats_are_refused(client, result, path, status, field, words):
    assert_error(client.get(path.replace("RID", result["id"])), status, field, *words)


def test_a_wrong_method_gets_a_json_error(client):
    assert_error(client.get("/api/generate"), 405, None, "Method Not Allowed")


class _Stub:
    def __init__(self, rid):
        self.id = rid


def test_results_are_kept_least_recently_used_first_out():
    results = Results(2)
    for rid in ("a", "b"):
        results.add(_Stub(rid))
    results.get("a")  # used: b is now the oldest
    results.add(_Stub("c"))
    assert len(results) == 2 and results.get("a").id == "a" and results.get("c").id == "c"
    with pytest.raises(studio_server.RequestError, match="keeps the last 2"):
        results.get("b")


# ---- limits: time, queue ----------------------------------------------------------------------------------------
def test_a_request_past_the_time_limit_gets_504(reasoner):
    with TestClient(create_app(reasoner, timeout=0.001)) as c:  # leaving the block waits for the worker
        assert_error(c.post("/api/generate", json={"goal": GOAL, "max_rounds": 1}), 504, None, "0.001 s")


def test_a_full_queue_gets_503(reasoner):
    with TestClient(create_app(reasoner, max_pending=0)) as c:
        assert_error(c.post("/api/generate", json={"goal": GOAL}), 503, None, "waiting")


# ---- the command ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,words", [
    (["--port", "70000"], ["--port", "65535"]),
    (["--port", "x"], ["--port", "integer"]),
    (["--max-rounds", "0"], ["--max-rounds"]),
    (["--timeout", "-1"], ["--timeout"]),
    (["--host", "192.0.2.1"], ["--host 192.0.2.1: not an address of this machine"]),
    (["--host", "not a host"], ["--host not a host: not a host name"]),
    (["--port", "0", "--bundle", "/nonexistent/bundle"], ["/nonexistent/bundle", "not a bundle"]),
])
def test_serve_refuses_bad_flags_in_one_line(capsys, argv, words):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_serve_says_when_the_port_is_taken(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"--port {port}: cannot listen" in err


def test_serve_without_the_extras_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: irgmotion serve needs uvicorn, which is not installed: "
                           "pip install 'irgmotion[serve]'")


def test_serve_runs_the_studio_until_interrupted(tmp_path):
    """The real command: it listens (--port 0: a free port, printed), answers, and stops cleanly on Ctrl-C."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "irgmotion", "serve", "--port", "0", "--no-warmup"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the bundle is loaded and the socket listens
        assert line.startswith("irgmotion studio: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
        url = line.split()[2]
        health = json.loads(urllib.request.urlopen(url + "api/health", timeout=60).read())
        assert health["status"] == "ok" and health["max_rounds"] == 3
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        assert "irgmotion studio" in page
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0 and "Traceback" not in err, err
