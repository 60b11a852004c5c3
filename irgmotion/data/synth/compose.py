"""Program -> motion: per-action tracks, upper-body overlays, chaining, noise, solve.

Rendering is a pure function of (program, seed). Independent random streams
are derived from the seed per purpose and per action index, so changing one
action of a program leaves the body, the noise and the other actions' timing
variations as they were (what near-miss perturbations need).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .actions import ACTIONS, overlay_sides
from .body import Body, make_body, sample_body_factors
from .engine import CHANNELS, Track, add_noise, chain, normalize, solve, window
from .program import Action, Program, validate_program

_BODY, _ACTION, _UPPER, _JOIN, _NOISE, _TEMPO = range(6)


def _rng(seed: int, *stream) -> np.random.Generator:
    return np.random.default_rng([int(seed), *stream])


def body_for(program: Program, seed: int) -> Body:
    factors = program.body if program.body is not None else sample_body_factors(_rng(seed, _BODY))
    return make_body(**factors)


def pad_end(tr: Track, n: int) -> Track:
    if n <= 0:
        return tr
    out = Track(**{c: np.concatenate([getattr(tr, c), np.repeat(getattr(tr, c)[-1:], n, 0)]) for c in CHANNELS})
    out.lead_in = tr.lead_in if tr.lead_in < tr.T else tr.T + n
    out.lead_out = tr.lead_out + n
    out.spans, out.move = list(tr.spans), tr.move
    return out


def _overlay(body: Body, base: Track, action: Action, seed: int, index: int) -> tuple[Track, tuple[int, int]]:
    """Run the upper-body action during the base's locomotion."""
    up = action.upper
    spec = ACTIONS[up.name]
    a, b = base.move if base.move is not None else (0, base.T - 1)
    span = max(b - a, 8)
    trial = spec.generate(body, _rng(seed, _UPPER, index), up.params, 1.0)
    tempo = float(np.clip(trial.T / (span + 10), 0.75, 1.6))
    tr = spec.generate(body, _rng(seed, _UPPER, index), up.params, tempo) if abs(tempo - 1.0) > 1e-6 else trial
    Tu = tr.T
    start = int(max(0, a + (span - Tu) // 2))
    base = pad_end(base, start + Tu - base.T)
    out = base.copy()
    w = window(Tu, 0, Tu - 1, 5.0)
    sl = slice(start, start + Tu)
    for side in overlay_sides(up.name, up.params):
        ww = w[:, None]
        out.arm_u[sl, side] = normalize(out.arm_u[sl, side] * (1 - ww) + tr.arm_u[:, side] * ww)
        out.arm_f[sl, side] = normalize(out.arm_f[sl, side] * (1 - ww) + tr.arm_f[:, side] * ww)
    out.spine[sl] += tr.spine
    out.head[sl] += tr.head
    out.collar[sl] += tr.collar
    out.ptilt[sl, 2] += tr.ptilt[:, 2]
    return out, (start, start + Tu)


def build_track(program: Program, seed: int = 0, body: Body | None = None, noise: float = 1.0):
    """The composed Track of a program and its body; spans in `track.spans`."""
    if body is None:
        body = body_for(program, seed)
    tracks = []
    for i, action in enumerate(program.actions):
        spec = ACTIONS[action.name]
        tempo = float(_rng(seed, _TEMPO, i).uniform(0.93, 1.07))
        tr = spec.generate(body, _rng(seed, _ACTION, i), action.params, tempo)
        upper_span = None
        if action.upper is not None:
            tr, upper_span = _overlay(body, tr, action, seed, i)
        tr.spans = [(i, 0, tr.T, upper_span)]
        tracks.append(tr)
    joins = _rng(seed, _JOIN)
    overlaps = [int(joins.integers(2, 9)) for _ in tracks[1:]]
    track = chain(body, tracks, overlaps)
    if noise > 0:
        add_noise(track, _rng(seed, _NOISE), noise)
    return track, body


def estimate_frames(program: Program) -> int:
    """Length of the motion with the standard body and seed 0 (the seed moves it by a few %)."""
    track, _ = build_track(program, 0, body=make_body(), noise=0.0)
    return track.T


@dataclass
class Rendered:
    joints: np.ndarray       # (T, 22, 3) float32, metres, first frame at the origin facing +Z
    spans: list              # per action: dict(index, name, start, end[, upper_start, upper_end])
    body: Body
    unreachable: int         # frames where a leg could not reach its target (0 in a good render)


def render(program, seed: int | None = None, frame_range: tuple[int, int] | None = None) -> Rendered | None:
    """Render a program; with `frame_range` (lo, hi), return None early when the length falls outside."""
    program = validate_program(program)
    if seed is None:
        seed = program.seed if program.seed is not None else 0
    track, body = build_track(program, int(seed))
    if frame_range is not None and not frame_range[0] <= track.T <= frame_range[1]:
        return None
    joints, bad = solve(body, track)
    spans = []
    for (i, s, e, up) in track.spans:
        d = {"index": i, "name": program.actions[i].name, "start": int(s), "end": int(min(e, track.T))}
        if up is not None:
            d["upper_start"], d["upper_end"] = int(s + up[0]), int(s + up[1])
        spans.append(d)
    return Rendered(joints.astype(np.float32), spans, body, int(bad.any(axis=1).sum()))


def render_program(program, seed: int | None = None) -> np.ndarray:
    """Joint positions (T, 22, 3) float32 of a program; a pure function of (program, seed).

    `seed` defaults to the program's own "seed" field, else 0.
    """
    return render(program, seed).joints
