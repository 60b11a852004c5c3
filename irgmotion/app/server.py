"""The studio's HTTP layer: JSON endpoints over one loaded `MotionReasoner`, and the page in `static/`.

    POST /api/generate  {"goal", "max_rounds"?, "seed"?, "sample"?}  -> a result: id, analysis, every round
    POST /api/steer     {"id", "round", "instruction"}                -> the user's round: the steered motion, assessed
    GET  /api/results/{id}                                            -> the result again (with the user's rounds)
    GET  /api/results/{id}/rounds/{k}.{bvh|npy|gif|mp4}               -> a round's motion as a file
    GET  /api/health                                                  -> status, limits, skeleton, counters

Rounds count from 1 (as trace.json). Joints are metres rounded to millimetres, (T, 22, 3) nested lists.

The model is not thread-safe: one worker thread makes every model call. Goals that arrive within `batch_window`
seconds of each other, or while the worker is busy, are decoded together in one batched `generate` call. Bad input
gets a 4xx JSON error {"error": "<field>: <what was expected>", "field": "<field>"}; a body over MAX_BODY_BYTES
gets 413; a request that waits longer than `timeout` seconds gets 504.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
import secrets
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..cliargs import MAX_SEED, STUDIO_MAX_ROUNDS
from ..reason.pipeline import MAX_PROMPT_CHARS, PromptInputError, check_goal
from ..reason.replies import level_name

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024  # a goal is at most MAX_PROMPT_CHARS characters; nothing the studio takes is larger
MAX_ROUNDS_LIMIT = STUDIO_MAX_ROUNDS  # generations one request may ask for (10)
FORMATS = {"bvh": "application/octet-stream", "npy": "application/octet-stream", "gif": "image/gif",
           "mp4": "video/mp4"}
WARMUP_GOAL = "a person walks forward"

log = logging.getLogger("irgmotion.serve")


class RequestError(Exception):
    """Answered as JSON {"error": message, "field": field} with `status`."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def error_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


# ---- the model worker ----------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Job:
    kind: str  # "generate" (args: goal, max_rounds, seed) or "call" (args: a function of no arguments)
    args: tuple
    sample: bool = False
    future: Future = field(default_factory=Future)


class Busy(Exception):
    """The worker's queue is full."""


class ModelWorker:
    """One thread that makes every model call, in arrival order; generate jobs are batched (see the module doc)."""

    def __init__(self, reasoner, batch_window: float = 0.05, max_batch: int = 32, max_pending: int = 64):
        self.reasoner = reasoner
        self.batch_window, self.max_batch, self.max_pending = batch_window, max_batch, max_pending
        self._cond = threading.Condition()
        self._pending: list[_Job] = []
        self._stopped = False
        self.stats = {"generate_calls": 0, "generated_goals": 0, "largest_batch": 0, "other_calls": 0}
        self._thread = threading.Thread(target=self._run, name="irgmotion-model", daemon=True)
        self._thread.start()

    def generate(self, goal: str, max_rounds: int, seed: int, sample: bool = False) -> Future:
        """A future of (Motion, how many goals were decoded in the same call)."""
        return self._submit(_Job("generate", (goal, max_rounds, seed), sample))

    def call(self, fn) -> Future:
        """A future of fn(), run on the model thread."""
        return self._submit(_Job("call", (fn,)))

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _submit(self, job: _Job) -> Future:
        with self._cond:
            if self._stopped:
                raise Busy("the studio is shutting down")
            if len(self._pending) >= self.max_pending:
                raise Busy(f"{len(self._pending)} requests are waiting for the model; try again shortly")
            self._pending.append(job)
            self._cond.notify_all()
        return job.future

    def _take(self) -> list[_Job] | None:
        """The next batch: every waiting generate job that decodes like the first (up to max_batch), collected for
        up to batch_window seconds; or the first job alone. None once stopped."""
        with self._cond:
            while not self._pending and not self._stopped:
                self._cond.wait()
            if self._stopped:
                return None
            first = self._pending[0]
            if first.kind == "generate":
                def alike():
                    return [j for j in self._pending if j.kind == "generate" and j.sample == first.sample]
                deadline = time.monotonic() + self.batch_window
                while len(alike()) < self.max_batch and not self._stopped:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = alike()[:self.max_batch]
            else:
                batch = [first]
            for job in batch:
                self._pending.remove(job)
        # a job whose request timed out while it waited is cancelled: drop it
        return [job for job in batch if job.future.set_running_or_notify_cancel()]

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if not batch:
                continue
            try:
                if batch[0].kind == "generate":
                    motions = self.reasoner.generate([j.args[0] for j in batch], max_rounds=[j.args[1] for j in batch],
                                                     seed=[j.args[2] for j in batch], sample=batch[0].sample)
                    self.stats["generate_calls"] += 1
                    self.stats["generated_goals"] += len(batch)
                    self.stats["largest_batch"] = max(self.stats["largest_batch"], len(batch))
                    for job, motion in zip(batch, motions):
                        job.future.set_result((motion, len(batch)))
                else:
                    self.stats["other_calls"] += 1
                    batch[0].future.set_result(batch[0].args[0]())
            except BaseException as exc:  # handed to the requests; the worker keeps serving
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            waiting, self._pending = self._pending, []
            self._cond.notify_all()
        for job in waiting:
            job.future.cancel()
        self._thread.join(timeout=60)


# ---- results ---------------------------------------------------------------------------------------------------
def _mm(joints: np.ndarray | None):
    return None if joints is None else np.round(joints.astype(np.float64), 3).tolist()


@dataclass(eq=False)
class Round:
    """One motion of a result: a round of the model's trace ("model") or the user's steered one ("user")."""
    number: int  # from 1
    source: str
    goal: str  # what the assessment judged the motion against
    features: np.ndarray | None
    joints: np.ndarray | None
    tokens: int
    assessment: str
    refinement: str
    level: int | None
    instruction: str | None = None  # the user's (user rounds)
    from_round: int | None = None  # the round the user steered
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"round": self.number, "source": self.source, "goal": self.goal, "instruction": self.instruction,
                "from_round": self.from_round, "frames": 0 if self.joints is None else len(self.joints),
                "tokens": self.tokens, "assessment": self.assessment, "refinement": self.refinement,
                "level": self.level, "level_name": level_name(self.level), "warnings": self.warnings,
                "joints": _mm(self.joints)}


@dataclass(eq=False)
class Result:
    id: str
    goal: str
    analysis: str
    answer_round: int | None  # from 1; the model's choice
    rounds: list[Round]
    warnings: list[str]
    finished: bool
    seconds: float
    batched_with: int  # goals decoded in the same call, this one included
    settings: dict

    def to_json(self, fps: float) -> dict:
        return {"id": self.id, "goal": self.goal, "analysis": self.analysis, "answer_round": self.answer_round,
                "finished": self.finished, "warnings": self.warnings, "seconds": round(self.seconds, 3),
                "batched_with": self.batched_with, "fps": fps, **self.settings,
                "rounds": [r.to_json() for r in self.rounds]}


def result_from_motion(rid: str, motion, batched_with: int, settings: dict) -> Result:
    rounds = [Round(k, "model", motion.goal, r.features, r.joints, len(r.tokens or ()), r.assessment, r.refinement,
                    r.level) for k, r in enumerate(motion.rounds, 1)]
    answer = None if motion.answer_round is None else motion.answer_round + 1
    return Result(rid, motion.goal, motion.analysis, answer, rounds, list(motion.warnings), motion.finished,
                  motion.seconds, batched_with, settings)


class Results:
    """The last `limit` results, least recently used dropped first."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict[str, Result] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def new_id(self) -> str:
        return secrets.token_hex(6)

    def add(self, result: Result) -> None:
        self._items[result.id] = result
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def get(self, rid) -> Result:
        if not isinstance(rid, str) or not rid:
            raise RequestError(400, f"id: expected a result id (text), got {json.dumps(rid)[:40]}", "id")
        result = self._items.get(rid)
        if result is None:
            raise RequestError(404, f"id: no result {rid[:40]!r} (unknown, or dropped: the studio keeps the last "
                                    f"{self.limit} results)", "id")
        self._items.move_to_end(rid)
        return result


# ---- request bodies --------------------------------------------------------------------------------------------
async def read_json(request: Request, fields: dict[str, bool]) -> dict:
    """The body as a JSON object with only `fields` ({name: required}); at most MAX_BODY_BYTES (413 beyond)."""
    too_big = (f"body: larger than {MAX_BODY_BYTES} bytes, the most the studio takes (a goal or an instruction is at "
               f"most {MAX_PROMPT_CHARS} characters)")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise RequestError(400, f"Content-Length: expected a number of bytes, got {length[:40]!r}", "body")
        if int(length) > MAX_BODY_BYTES:
            raise RequestError(413, too_big, "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, too_big, "body")
        chunks.append(chunk)
    example = json.dumps({name: "..." for name, required in fields.items() if required})
    raw = b"".join(chunks)
    if not raw.strip():
        raise RequestError(400, f"body: empty; send a JSON object such as {example}", "body")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestError(400, f"body: not valid JSON ({str(exc)[:80]}); send an object such as {example}",
                           "body") from None
    except RecursionError:
        raise RequestError(400, f"body: JSON nested too deeply; send an object such as {example}", "body") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"body: expected a JSON object such as {example}, got {type(data).__name__}", "body")
    for name in data:
        if name not in fields:
            raise RequestError(400, f"{str(name)[:40]}: unknown field; expected {', '.join(fields)}", str(name)[:40])
    for name, required in fields.items():
        if required and name not in data:
            raise RequestError(400, f"{name}: missing; send an object such as {example}", name)
    return data


def int_field(data: dict, name: str, default, low: int, high: int, note: str = "") -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestError(400, f"{name}: expected an integer from {low} to {high}{note}, got "
                                f"{json.dumps(value)[:40]}", name)
    return value


def text_field(data: dict, name: str) -> str:
    """A goal or instruction, checked as the package checks every goal (one line of printable text, not empty, at most
    MAX_PROMPT_CHARS characters)."""
    try:
        return check_goal(data[name])
    except PromptInputError as exc:
        message = str(exc)
        if name != "goal":
            message = re.sub(r"\bthe goal( text)?\b", f"the {name}", message.split("; describe a motion")[0])
            if message.endswith("is empty"):
                message += "; say how to change the motion, e.g. \"jump higher\""
        raise RequestError(400, f"{name}: {message}", name) from None


# ---- the studio --------------------------------------------------------------------------------------------------
class Studio:
    """The state behind the endpoints: the reasoner, its worker, the results, the limits."""

    def __init__(self, reasoner, *, batch_window: float = 0.05, max_batch: int = 32, timeout: float = 120.0,
                 max_results: int = 256, max_pending: int = 64):
        from ..motion.render import chain_colours
        from ..motion.skeleton import skeleton_for_dim
        self.reasoner = reasoner
        self.timeout = timeout
        self.worker = ModelWorker(reasoner, batch_window, max_batch, max_pending)
        self.results = Results(max_results)
        self.skeleton = skeleton_for_dim(reasoner.bundle.vq.config.input_dim)
        self.colours = chain_colours(self.skeleton)
        self._files = ThreadPoolExecutor(1, thread_name_prefix="irgmotion-files")  # exports and renders, one at a time
        self.requests = {"generate": 0, "steer": 0, "download": 0}

    def warmup(self) -> float:
        """One short generation on the model thread (the first call of a fresh process is several times slower);
        returns its seconds."""
        started = time.perf_counter()
        self.worker.generate(WARMUP_GOAL, 1, 0).result()
        return time.perf_counter() - started

    def close(self) -> None:
        self.worker.stop()
        self._files.shutdown(wait=False, cancel_futures=True)

    async def wait(self, future: Future, what: str):
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            future.cancel()  # still waiting: it will not run; already running: its answer is dropped
            raise RequestError(504, f"{what} took longer than {self.timeout:g} s, this studio's limit per request; "
                                    "try fewer rounds, or again when fewer requests are waiting") from None
        except ValueError as exc:  # the API refused what passed the checks here
            raise RequestError(422, f"{what}: {exc}") from None

    def submit(self, make):
        try:
            return make()
        except Busy as exc:
            raise RequestError(503, str(exc)) from None

    def health(self) -> dict:
        from ..motion.render import mp4_available
        formats = [f for f in FORMATS if f != "mp4" or mp4_available()]
        return {"status": "ok", "bundle": str(self.reasoner.bundle.root), "verdict": self.reasoner.verdict,
                "select": self.reasoner.select, "max_rounds": self.reasoner.max_rounds,
                "max_rounds_limit": MAX_ROUNDS_LIMIT, "formats": formats,
                "skeleton": {"name": self.skeleton.name, "fps": self.skeleton.fps,
                             "joints": list(self.skeleton.joint_names),
                             "chains": [list(c) for c in self.skeleton.kinematic_chains], "colours": self.colours},
                "limits": {"body_bytes": MAX_BODY_BYTES, "text_chars": MAX_PROMPT_CHARS, "timeout_s": self.timeout,
                           "results": self.results.limit, "waiting_requests": self.worker.max_pending,
                           "batch": self.worker.max_batch, "batch_window_s": self.worker.batch_window},
                "waiting": self.worker.pending, "results": len(self.results), "requests": dict(self.requests),
                "worker": dict(self.worker.stats)}


def _studio(request: Request) -> Studio:
    return request.app.state.studio


async def generate(request: Request) -> JSONResponse:
    studio = _studio(request)
    data = await read_json(request, {"goal": True, "max_rounds": False, "seed": False, "sample": False})
    goal = text_field(data, "goal")
    max_rounds = int_field(data, "max_rounds", studio.reasoner.max_rounds, 1, MAX_ROUNDS_LIMIT)
    seed = int_field(data, "seed", 0, 0, MAX_SEED)
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        raise RequestError(400, f"sample: expected true or false, got {json.dumps(sample)[:40]}", "sample")
    studio.requests["generate"] += 1
    future = studio.submit(lambda: studio.worker.generate(goal, max_rounds, seed, sample))
    motion, together = await studio.wait(future, "generating")
    result = result_from_motion(studio.results.new_id(), motion, together,
                                {"max_rounds": max_rounds, "seed": seed, "sample": sample})
    studio.results.add(result)
    return JSONResponse(result.to_json(studio.skeleton.fps))


async def steer(request: Request) -> JSONResponse:
    """The user's instruction on a round's motion: MotionReasoner.steer, then a fresh assessment of the new motion
    against the goal as steer updated it; kept as a further round of the result."""
    studio = _studio(request)
    data = await read_json(request, {"id": True, "round": True, "instruction": True})
    result = studio.results.get(data["id"])
    n = len(result.rounds)
    k = int_field(data, "round", None, 1, n, f" (result {result.id} has {n} round{'s' * (n != 1)})")
    source = result.rounds[k - 1]
    if source.features is None:
        raise RequestError(400, f"round: round {k} has no motion to steer (the model made none); choose another",
                           "round")
    instruction = text_field(data, "instruction")
    reasoner = studio.reasoner

    def work():
        steered = reasoner.steer(source.goal, source.features, instruction)
        made = steered.motion.features
        if made is None:
            return steered, None
        # steer's own assessment of its motion against the updated goal, when it made one (as chat uses it)
        return steered, steered.assessment if steered.assessment is not None else reasoner.assess(steered.goal, made)

    studio.requests["steer"] += 1
    steered, verdict = await studio.wait(studio.submit(lambda: studio.worker.call(work)), "steering")
    motion = steered.motion
    tokens = len(motion.rounds[0].tokens or ()) if motion.rounds else 0
    new = Round(len(result.rounds) + 1, "user", steered.goal, motion.features, motion.joints, tokens,
                "" if verdict is None else verdict["assessment"], "" if verdict is None else verdict["refinement"],
                None if verdict is None else verdict["level"], instruction, k,
                list(motion.warnings) + ([] if verdict is None else list(verdict["warnings"])))
    result.rounds.append(new)
    return JSONResponse({"id": result.id, "goal": steered.goal, "round": new.to_json()})


async def get_result(request: Request) -> JSONResponse:
    studio = _studio(request)
    return JSONResponse(studio.results.get(request.path_params["rid"]).to_json(studio.skeleton.fps))


def _export(goal: str, rnd: Round, fmt: str, fps: float) -> bytes:
    from ..api import Motion
    motion = Motion(goal, rnd.features, rnd.joints, [], None, "")
    with tempfile.TemporaryDirectory(prefix="irgmotion-serve-") as tmp:
        path = motion.save(Path(tmp) / f"motion.{fmt}", fps=fps)
        return path.read_bytes()


async def download(request: Request) -> Response:
    studio = _studio(request)
    result = studio.results.get(request.path_params["rid"])
    name = request.path_params["name"]
    number, dot, fmt = name.partition(".")
    if not dot or fmt not in FORMATS:
        raise RequestError(400, f"format: expected a name ROUND.FORMAT with FORMAT one of {', '.join(FORMATS)}, got "
                                f"{name[:40]!r}", "format")
    if fmt == "mp4":
        from ..motion.render import mp4_available
        if not mp4_available():
            raise RequestError(404, "format: mp4 is not available on this server (it needs ffmpeg from the "
                                    "imageio-ffmpeg package: pip install imageio-ffmpeg); download the gif", "format")
    n = len(result.rounds)
    if not number.isdigit() or not 1 <= int(number) <= n:
        raise RequestError(404, f"round: expected a round from 1 to {n} of result {result.id}, got {number[:20]!r}",
                           "round")
    rnd = result.rounds[int(number) - 1]
    if rnd.joints is None:
        raise RequestError(404, f"round: round {number} has no motion (the model made none)", "round")
    studio.requests["download"] += 1
    title = rnd.goal if rnd.source == "model" else f"{rnd.goal} (your instruction: {rnd.instruction})"
    data = await studio.wait(studio._files.submit(_export, title, rnd, fmt, studio.skeleton.fps),
                             f"writing the {fmt}")
    filename = f"irgmotion_{result.id}_round{rnd.number}.{fmt}"
    return Response(data, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def health(request: Request) -> JSONResponse:
    return JSONResponse(_studio(request).health())


# ---- the page ------------------------------------------------------------------------------------------------------
def _page() -> tuple[str, str]:
    """index.html, and a Content-Security-Policy that lets it load only this server's files (its one inline script,
    the import map, allowed by hash)."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()}'"
                      for m in re.findall(r"<script type=\"importmap\">(.*?)</script>", html, flags=re.DOTALL))
    csp = (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; img-src 'self' data: blob:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    return html, csp


def create_app(reasoner, **options) -> Starlette:
    """The studio over `reasoner` (a MotionReasoner). options: those of Studio (batch_window, max_batch, timeout,
    max_results, max_pending). The app's state.studio holds the Studio; close it (or end the app's lifespan) to stop
    its worker."""
    studio = Studio(reasoner, **options)
    html, csp = _page()

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"})

    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.field)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code == 405:
            detail = "no such endpoint" if exc.status_code == 404 else exc.detail
            return error_response(exc.status_code, f"{request.method} {request.url.path}: {detail}")
        return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error answering %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); the server's log has the details")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        studio.close()

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/health", health),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/steer", steer, methods=["POST"]),
        Route("/api/results/{rid}", get_result),
        Route("/api/results/{rid}/rounds/{name}", download),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], exception_handlers={RequestError: request_error, HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan)
    app.state.studio = studio
    return app


# ---- running it ----------------------------------------------------------------------------------------------------
def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port); OSError when it cannot be had."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class BackgroundServer:
    """uvicorn serving `app` on a thread (tests, benchmarks): `with BackgroundServer(app) as server: server.url`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="irgmotion-serve", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the studio did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(reasoner, sock: socket.socket, warmup: bool = True, **options) -> None:
    """Serve the studio on the bound `sock` until interrupted (the `irgmotion serve` command)."""
    import uvicorn
    app = create_app(reasoner, **options)
    if warmup:
        print(f"warming up the model ({app.state.studio.warmup():.1f} s)", flush=True)
    print(f"irgmotion studio: {url_of(sock)} (Ctrl-C stops it)", flush=True)
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: the normal end of a server
        pass
    print("irgmotion studio: stopped", flush=True)
