"""The public Python face: one loaded model that generates, assesses and captions motions, each batched.

    from irgmotion import MotionReasoner
    r = MotionReasoner.from_pretrained()         # the embedded bundle; from_pretrained(DIR) for another
    m = r.generate("a person jumps twice")        # a Motion: .joints (T, 22, 3), .features (T, 263), .rounds
    m.save("jump.bvh")                            # .npy (joints), .bvh, .gif or .mp4
    r.assess("a person jumps twice", m.joints)    # {"level": 0-3 or None, "score": level / 3, ...}
    r.caption(m.joints)                           # one line of text
    r.refine(m.joints, "jump higher", goals="a person jumps twice")  # a Motion: the instructed refinement

A list in gives a list out, decoded in one batched call. The command line (`generate`, `assess`, `caption`)
is a shell over this object.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .reason.replies import (
    level_name,
    read_assessment,
    read_caption,
    read_instruction,
    rule_assessment,
)

DEFAULT_MAX_NEW_TOKENS = 1400  # the trace's token budget, as `irgmotion generate`
MAX_FRAMES = 196  # the longest motion the model was trained to read (the datasets' cap); longer input is cut


def motion_features(motion, name: str = "motion", dataset: str = "humanml3d") -> tuple[np.ndarray, list[str]]:
    """Raw features (T, D) of a motion given as joints (T, J, 3) in metres or features (T, D), and warnings.
    ValueError (naming `name`) for a wrong shape, NaN or inf, implausible joint scale, or too few frames."""
    from .motion.features import joints_to_features
    from .motion.io import MotionFileError, check_finite_result, validate_motion
    try:
        data = np.asarray(motion)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise ValueError(f"{name}: not an array of numbers ({type(exc).__name__})") from None
    if data.dtype == object:
        raise ValueError(f"{name}: not an array of numbers")
    m = validate_motion(data, name, dataset)  # shape, NaN/inf, float32 range
    if m.kind == "joints":
        joints = m.checked_joints()  # millimetres, zero-length bones: refused
        with np.errstate(all="ignore"):
            feats = joints_to_features(joints, m.skeleton).astype(np.float32)
        try:
            feats = check_finite_result(feats, name, "features")
        except MotionFileError as exc:
            raise ValueError(str(exc)) from None
    else:
        feats = m.data
    unit = 4  # frames per motion token
    if len(feats) < unit:
        extra = " (joints give one frame fewer)" if m.kind == "joints" else ""
        raise ValueError(f"{name}: {len(feats)} frame(s) of features{extra}; at least {unit} are needed (one motion "
                         "token)")
    warnings = []
    if len(feats) > MAX_FRAMES:
        warnings.append(f"{name}: {len(feats)} frames; the model reads the first {MAX_FRAMES}")
        feats = feats[:MAX_FRAMES]
    return feats, warnings


@dataclass
class MotionRound:
    """One generation of the trace: its motion (None when the round made none) and the assessment of it."""
    tokens: list[int] | None
    features: np.ndarray | None
    joints: np.ndarray | None
    assessment: str = ""
    refinement: str = ""

    @property
    def level(self) -> int | None:
        from .engine.assessment import level_of
        return level_of(self.assessment)


@dataclass
class Motion:
    """A generated motion: the answer (`features`, `joints`; None when the model made no motion), every round,
    and the reasoning text. `answer_round` indexes `rounds` (from 0)."""
    goal: str
    features: np.ndarray | None
    joints: np.ndarray | None
    rounds: list[MotionRound]
    answer_round: int | None
    trace: str
    analysis: str = ""
    finished: bool = False
    warnings: list[str] = field(default_factory=list)
    verdict: str = "model"
    select: str = "last"
    seconds: float = 0.0  # wall time of the batched decoding call this motion was part of
    record: dict = field(default_factory=dict, repr=False)  # the parsed trace, as trace.json writes it

    def save(self, path: str | Path, fps: float = 20) -> Path:
        """Write the answer by suffix: .npy (joints), .bvh, .gif or .mp4 (an animation)."""
        from .fileio import save_npy
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".npy", ".bvh", ".gif", ".mp4"):
            raise ValueError(f"{path}: unknown suffix; use .npy (joints), .bvh, .gif or .mp4")
        if self.joints is None:
            raise ValueError(f"no motion to save: the model made none for {self.goal!r}")
        if suffix == ".npy":
            save_npy(path, self.joints)
        elif suffix == ".bvh":
            from .motion.bvh import joints_to_bvh
            joints_to_bvh(self.joints, path, fps=fps)
        else:
            from .motion.render import render_motions
            render_motions([self.joints], path, titles=[self.goal[:60]], fps=fps)
        return path

    def to_dict(self) -> dict:
        """What `irgmotion generate` writes as trace.json (answer_round counts from 1 there, as the round files)."""
        return {"goal": self.goal, "generation_seconds": self.seconds, "text": self.trace,
                "n_generations": sum(r.tokens is not None for r in self.rounds), "verdict": self.verdict,
                "select": self.select, **self.record, "warnings": self.warnings, "finished": self.finished,
                "answer_round": None if self.answer_round is None else self.answer_round + 1}

    def write_folder(self, folder: str | Path, render: str | None = "gif") -> list[str]:
        """Write the files of `irgmotion generate` into the existing `folder`: round_K_joints.npy per round,
        final_features.npy, final_joints.npy, final.bvh (when there is a motion), rounds.gif or .mp4 (render: "gif",
        "mp4" or None), trace.json. Returns the names written. Each file is written atomically, not the folder."""
        import json

        from .fileio import save_npy, write_text
        folder = Path(folder)
        names, joints, titles = [], [], []
        for k, r in enumerate(self.rounds, 1):
            if r.joints is not None:
                save_npy(folder / f"round_{k}_joints.npy", r.joints)
                names.append(f"round_{k}_joints.npy")
                joints.append(r.joints)
                titles.append(f"round {k}" + (" (answer)" if k - 1 == self.answer_round else ""))
        if self.joints is not None:
            from .motion.bvh import joints_to_bvh
            save_npy(folder / "final_features.npy", self.features)
            save_npy(folder / "final_joints.npy", self.joints)
            joints_to_bvh(self.joints, folder / "final.bvh")
            names += ["final_features.npy", "final_joints.npy", "final.bvh"]
        names.append("trace.json")
        if render and joints:
            from .motion.render import render_motions
            render_motions(joints, folder / f"rounds.{render}", titles=titles, suptitle=self.goal[:80])
            names.append(f"rounds.{render}")
        write_text(folder / "trace.json", json.dumps(self.to_dict(), indent=2))
        return names


RETIMED = "retimed x"  # how a steered motion that was retimed, not refined by the model, names its instruction
MIRRORED = "mirrored: left and right swapped"  # the same for a motion mirrored (a side swap of the whole goal)
LOOPED = "strides looped "  # the same for a walk given more or fewer gait cycles (then the stride count, signed)


def applied_without_model(canonical: str) -> str | None:
    """Why a steered motion was edited by steer itself rather than refined by the model (None: the model refined
    it), from the instruction it names (`Steered.canonical`)."""
    if canonical.startswith(RETIMED):
        return "its grammar has no pace"
    if canonical == MIRRORED:
        return "the updated goal is the old one mirrored"
    if canonical.startswith(LOOPED):
        return "the walk's own strides were repeated or cut; the model's refinements keep the step count"
    return None


@dataclass
class Steered:
    """The result of `MotionReasoner.steer`: the goal as the instruction updated it, the user's instruction, and the
    new motion; `canonical` is the instruction the model was given (the training grammar's, or the user's words
    when they could not be read), or names the edit steer made itself (`RETIMED`, `MIRRORED`;
    `applied_without_model` says why), `edits` what changed in the goal ("jump: count 2 -> 4"), `program` the
    updated goal's action program (None when the words were passed on unchanged) and `warnings` what went wrong."""
    goal: str
    instruction: str
    motion: Motion
    canonical: str = ""
    edits: list[str] = field(default_factory=list)
    program: dict | None = None
    warnings: list[str] = field(default_factory=list)
    assessment: dict | None = None  # the motion's assessment against `goal` (as `assess` gives it), when steer made one

    @property
    def interpreted(self) -> bool:
        return self.program is not None


def _per_goal(value, n: int, what: str, check) -> list:
    """One value per goal from a single value or a list of n."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{what}: {len(values)} values for {n} goals")
    for v in values:
        check(v)
    return values


class MotionReasoner:
    """A bundle's models behind one object. `verdict` ("rule" or "model"; default: rule where the bundle's
    assessment style allows it), `select` ("best", "best-earliest", "last") and `perception` ("describer": the
    bundle's motion describer writes what each motion shows, the default where it has one under the rule verdict;
    "model": the LLM) are those of `irgmotion generate`; they apply to `generate`, the verdict and perception to
    `assess` too."""

    def __init__(self, bundle, verdict: str | None = None, select: str | None = None, max_rounds: int = 6,
                 batch_size: int = 32, perception: str | None = None):
        _check_rounds(max_rounds)
        self.bundle = bundle
        self.reasoner = bundle.reasoner(verdict, select, perception)
        self.max_rounds, self.batch_size = max_rounds, batch_size
        self._evaluator = None

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, verdict: str | None = None, select: str | None = None,
                        max_rounds: int = 6, device: str = "cpu", perception: str | None = None) -> MotionReasoner:
        """Load a bundle directory (default: the one embedded in the package) offline, onto `device`: "cpu",
        "cuda", "cuda:N", "mps" or "auto" (cuda, else mps, else cpu); ValueError when this machine lacks it."""
        from .devices import resolve_device
        from .reason.bundle import load_bundle
        return cls(load_bundle(path, device=resolve_device(device)), verdict, select, max_rounds,
                   perception=perception)

    @property
    def verdict(self) -> str:
        return self.reasoner.verdict

    @property
    def device(self) -> str:
        """Where the bundle's models run (the evaluator for `similarity` is loaded there too)."""
        return str(next(self.bundle.vq.model.parameters()).device)

    @property
    def select(self) -> str:
        return self.reasoner.select

    # ---- inputs -----------------------------------------------------------------------------
    @staticmethod
    def _texts(texts, what: str = "texts") -> tuple[list[str], bool]:
        from .reason.pipeline import PromptInputError, check_goal
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if not items:
            raise ValueError(f"{what}: empty list")
        out = []
        for i, t in enumerate(items):
            try:
                out.append(check_goal(t))
            except PromptInputError as exc:
                raise ValueError(f"{what}{'' if single else f'[{i}]'}: {exc}") from None
        return out, single

    def _features(self, motions, what: str = "motions") -> tuple[list[np.ndarray], list[list[str]], bool]:
        single = isinstance(motions, np.ndarray) or hasattr(motions, "shape")
        items = [motions] if single else list(motions)
        if not items:
            raise ValueError(f"{what}: empty list")
        from .motion.skeleton import skeleton_for_dim
        dataset = skeleton_for_dim(self.bundle.vq.config.input_dim).name
        pairs = [motion_features(m, "motion" if single else f"{what}[{i}]", dataset) for i, m in enumerate(items)]
        return [f for f, _ in pairs], [w for _, w in pairs], single

    def _pairs(self, texts, motions):
        """Checked texts and motion features, pair by pair: one text with one motion, or two lists of one length."""
        goals, single = self._texts(texts)
        feats, notes, single_motion = self._features(motions)
        if single != single_motion:
            raise ValueError("give one text with one motion array, or a list of texts with a list of motions")
        if len(goals) != len(feats):
            raise ValueError(f"{len(goals)} texts but {len(feats)} motions")
        return goals, feats, notes, single

    def _opts(self, max_new_tokens: int):
        from .reason.decoding import DecodeOptions
        return DecodeOptions(max_new_tokens=max_new_tokens, batch_size=self.batch_size)

    def _tokens(self, feats: list[np.ndarray]) -> list[list[int]]:
        return [ids.tolist() for ids in self.bundle.vq.encode(feats)]

    # ---- generation ---------------------------------------------------------------------------
    def generate(self, text, *, max_rounds=None, sample: bool = False, seed=0, temperature: float = 1.0,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS):
        """Text -> Motion through interleaved generation, assessment and refinement; a list -> a list of Motion.
        `max_rounds` and `seed` may be one value or one per goal; goals that share them decode in one batched call
        (with greedy decoding the seed plays no part)."""
        from .reason.decoding import DecodeOptions
        goals, single = self._texts(text, "text")
        n = len(goals)
        rounds = _per_goal(self.max_rounds if max_rounds is None else max_rounds, n, "max_rounds", _check_rounds)
        seeds = _per_goal(seed, n, "seed", _check_seed)
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        groups: dict[tuple, list[int]] = {}
        for i in range(n):
            groups.setdefault((rounds[i], seeds[i] if sample else seeds[0]), []).append(i)
        out: list = [None] * n
        for (cap, group_seed), idx in groups.items():
            opts = DecodeOptions(max_new_tokens=max_new_tokens, do_sample=sample, seed=group_seed,
                                 temperature=temperature, batch_size=self.batch_size)
            started = time.perf_counter()
            results = self.reasoner.interleaved([goals[i] for i in idx], opts, max_rounds=cap)
            seconds = time.perf_counter() - started
            for i, result in zip(idx, results):
                out[i] = self._motion(result, seconds)
        return out[0] if single else out

    def _motion(self, result, seconds: float) -> Motion:
        trace = result.trace
        made = [r.motion for r in trace.rounds if r.motion]
        decoded = iter(self.bundle.vq.decode(made)) if made else iter(())
        rounds = []
        for r in trace.rounds:
            feats = next(decoded) if r.motion else None
            joints = None if feats is None else _joints(feats)
            rounds.append(MotionRound(r.motion, feats, joints, r.assessment, r.refinement))
        k = result.answer_round
        feats, joints = (None, None) if k is None else (rounds[k].features, rounds[k].joints)
        parsed = trace.to_dict()
        parsed.pop("warnings")
        return Motion(result.goal, feats, joints, rounds, k, result.text,
                      trace.analysis, trace.finished, list(result.warnings), self.verdict, self.select, seconds,
                      {"mode": result.mode, "perception": self.reasoner.perception, **parsed})

    # ---- single-step tasks ---------------------------------------------------------------------
    def assess(self, texts, motions):
        """How well each motion fits its text: a dict per pair (one text and one motion: one dict) with
        `level` (0 poor, 1 partial, 2 close, 3 perfect; None when the assessment states none), `level_name`,
        `score` (level / 3, or None), `assessment`, `refinement` (the instruction to fix the motion), `verdict`
        (who judged: "rule" or "model") and `warnings`. Motions: joints (T, 22, 3) or features (T, 263)."""
        from .reason.pipeline import ASSESSMENT_MAX_TOKENS
        goals, feats, notes, single = self._pairs(texts, motions)
        tokens = self._tokens(feats)
        replies = self.reasoner.assess(goals, tokens, self._opts(ASSESSMENT_MAX_TOKENS))
        rows, unjudged = [], []
        for i, reply in enumerate(replies):
            assessment, level, warnings = read_assessment(reply)
            row = {"text": goals[i], "level": level, "assessment": assessment, "refinement": None,
                   "verdict": "model", "warnings": notes[i] + warnings}
            if self.verdict == "rule":
                ruled = rule_assessment(assessment, self.reasoner.assessment_style)
                if ruled is None:
                    row["warnings"].append("the assessment's descriptions are not canonical; kept the model's verdict")
                else:
                    row["assessment"], row["level"], row["refinement"] = ruled
                    row["verdict"] = "rule"
                    row["warnings"] = [w for w in row["warnings"] if "no alignment level" not in w]
            if row["refinement"] is None:
                unjudged.append(i)
            rows.append(row)
        if unjudged:  # the model's own instruction (the rule wrote the others)
            replies = self.reasoner.instruct([goals[i] for i in unjudged], [tokens[i] for i in unjudged],
                                             self._opts(96))
            for i, reply in zip(unjudged, replies):
                rows[i]["refinement"], warnings = read_instruction(reply)
                rows[i]["warnings"] += warnings
        for row in rows:
            level = row["level"]
            row["level_name"] = level_name(level)
            row["score"] = None if level is None else level / 3
        return rows[0] if single else rows

    def caption(self, motions, details: bool = False):
        """One line of text per motion (one motion: one string). details=True: dicts with "caption" and
        "warnings" (an empty caption when the model wrote none)."""
        feats, notes, single = self._features(motions)
        replies = self.reasoner.caption(self._tokens(feats), self._opts(48))
        rows = []
        for reply, note in zip(replies, notes):
            caption, warnings = read_caption(reply)
            rows.append({"caption": caption, "warnings": note + warnings} if details else caption)
        return rows[0] if single else rows

    def refine(self, motions, instructions, goals=None, *, sample: bool = False, seed: int = 0,
               temperature: float = 1.0):
        """Instructed refinement (the stage-1 task): each motion changed as its instruction says ("jump higher",
        "use the left hand instead"). `goals` are what the motions were made for; the prompt states them beside
        the instruction (without them, the model's own caption of each motion stands in). One motion: one Motion
        (its single round holds the refined motion; joints None when the model made none); lists: a list.
        `sample` draws the motion tokens (seeded) instead of taking the likeliest."""
        feats, notes, single = self._features(motions)
        orders, single_order = self._texts(instructions, "instructions")
        if single != single_order or len(orders) != len(feats):
            raise ValueError(f"give one instruction per motion: {len(orders)} instructions for {len(feats)} motions")
        if goals is None:
            goals = [c or "a person moves." for c in self.caption(feats)]
        else:
            goals, single_goal = self._texts(goals, "goals")
            if single_goal != single or len(goals) != len(feats):
                raise ValueError(f"give one goal per motion: {len(goals)} goals for {len(feats)} motions")
        started = time.perf_counter()
        _check_seed(seed)
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        from .reason.decoding import DecodeOptions
        opts = DecodeOptions(max_new_tokens=64, batch_size=self.batch_size, do_sample=sample, seed=seed,
                             temperature=temperature)
        refined = self.reasoner.refine(goals, self._tokens(feats), orders, opts)
        seconds = time.perf_counter() - started
        made = [ids for ids in refined if ids]
        decoded = iter(self.bundle.vq.decode(made)) if made else iter(())
        out = []
        for goal, order, ids, note in zip(goals, orders, refined, notes):
            feats_i = next(decoded) if ids else None
            joints = None if feats_i is None else _joints(feats_i)
            warnings = list(note) + ([] if ids else ["the model made no refined motion"])
            out.append(Motion(goal, feats_i, joints, [MotionRound(ids, feats_i, joints, refinement=order)],
                              0 if ids else None, order, warnings=warnings, verdict=self.verdict,
                              select="refine", seconds=seconds, finished=True))
        return out[0] if single else out

    def steer(self, goal: str, motion, instruction: str, *, assessment: str | None = None, seed: int = 0,
              rounds: int = 2, samples: int = 3) -> Steered:
        """A user's own instruction on the current motion of `goal` ("jump higher", "use the left hand instead"),
        as chat and the web studio apply it. The words are read as an edit of the goal's action program (the goal as
        the model's assessment restates it in canonical words: `assessment`, the current motion's assessment, or one
        made here); the updated goal is written as a corpus caption and the instruction in the grammar the model was
        trained on (`engine.edits`), and the motion is refined with both: a few candidates (greedy, and `samples`
        drawn ones), of which the model's own assessment against the updated goal picks one, refined once more by
        that assessment's instruction while it is not perfect (`rounds` in all). A pace ("faster", "slow down")
        retimes the motion itself (after the model's refinement when other edits come with it): the grammar the model
        was trained on has none. Words that cannot be read are passed to the model unchanged (one greedy
        refinement), with a warning. Returns the updated goal (what the next
        assessment judges against), the canonical instruction used, the refined motion and its assessment."""
        from .engine.descriptions import DESCRIBED, read_description
        from .engine.edits import goal_text, interpret, is_mirror_edit, pace, stride_edit
        (goal,), _ = self._texts([goal], "goal")
        (words,), _ = self._texts([instruction], "instruction")
        _check_seed(seed)
        _check_rounds(rounds)
        if not isinstance(samples, int) or isinstance(samples, bool) or not 0 <= samples <= 16:
            raise ValueError(f"samples must be an integer from 0 to 16, got {samples!r}")
        feats, notes, single = self._features(motion)
        if not single:
            raise ValueError("steer takes one motion (joints (T, 22, 3) or features (T, 263)), not a list")
        found = DESCRIBED.search(assessment or "")
        if found is None:
            found = DESCRIBED.search(self.assess(goal, feats[0])["assessment"] or "")
        asked = read_description(found.group(1)) if found else None
        shown = read_description(found.group(2)) if found else None
        warnings = list(notes[0])
        reading = None if asked is None else interpret(words, asked, shown)
        factor = pace(words)
        others = [] if reading is None else [e for e in reading.edits if e.kind != "speed"]
        if any(e.kind in ("add", "replace") for e in others):
            factor = None  # "also clap quickly": the pace belongs to the new action, which the model makes
        if factor is not None and not others:  # a pace alone: the model's grammar has none, the motion is retimed
            understood = reading is not None and reading.understood
            new_goal = goal_text(reading.goal, reading.edits, seed) if understood else goal
            return self._steer_pace(new_goal, words, feats[0], factor, warnings, reading)
        if reading is None:
            warnings.append("the model's restatement of the goal is not in canonical words; the instruction was "
                            "passed to the model unchanged")
        elif not reading.understood:
            why = f" ({'; '.join(reading.notes)})" if reading.notes else ""
            warnings.append(f"could not read {words!r} as a change of the goal (a side, count, size, direction, "
                            f"speed, or an action to add or remove){why}; passed to the model unchanged")
        if reading is None or not reading.understood:
            refined = self.refine(feats[0], words, goals=goal)
            refined.warnings = warnings + [w for w in refined.warnings if w not in warnings]
            return Steered(goal, words, refined, canonical=words, warnings=refined.warnings)
        warnings += reading.notes
        if factor is None and is_mirror_edit(asked, reading.goal, shown):
            from .motion.features import mirror_features
            return self._steer_without_model(goal_text(reading.goal, reading.edits, seed), words,
                                             mirror_features(feats[0]).astype(np.float32), MIRRORED, warnings,
                                             reading)
        strides = stride_edit(reading, shown) if factor is None else None
        if strides is not None:
            from .motion.timing import loop_strides
            looped = loop_strides(feats[0], strides)
            if looped is not None:
                return self._steer_without_model(goal_text(reading.goal, reading.edits, seed), words,
                                                 looped.astype(np.float32), f"{LOOPED}{strides:+d}", warnings, reading)
        steered = self._steer_edit(goal, words, feats[0], reading, asked, shown, warnings, seed, rounds, samples)
        if factor is not None and steered.motion.features is not None:  # the model's edits, then the pace
            paced = self._steer_pace(steered.goal, words, steered.motion.features, factor, steered.warnings, reading)
            paced.canonical = f"{steered.canonical} (then {paced.canonical})"
            return paced
        return steered

    def _steer_pace(self, goal, words, feats, factor, warnings, reading) -> Steered:
        """The motion played `factor` times as fast (`motion.timing.retime` on its joints): the tokenizer's
        reconstruction of a retimed motion gives back part of the speed-up, so the motion itself is kept."""
        from .motion.features import joints_to_features
        from .motion.timing import retime
        retimed = joints_to_features(retime(_joints(feats).astype(np.float64), factor)).astype(np.float32)
        return self._steer_without_model(goal, words, retimed, f"{RETIMED}{factor:.2f}", warnings, reading,
                                         fallback_edit=f"pace x{factor:.2f}")

    def _steer_without_model(self, goal, words, feats_i, order, warnings, reading,
                             fallback_edit: str | None = None) -> Steered:
        """A motion steer edited itself (its features `feats_i`: retimed, mirrored), assessed against `goal`. Its
        tokens encode those features, as for a motion the user supplies, for the next refinement to start from."""
        started = time.perf_counter()
        ids = self._tokens([feats_i])[0]
        joints = _joints(feats_i)
        motion = Motion(goal, feats_i, joints, [MotionRound(ids, feats_i, joints, refinement=order)], 0, order,
                        warnings=list(warnings), verdict=self.verdict, select="refine",
                        seconds=time.perf_counter() - started, finished=True)
        row = self.assess(goal, feats_i)
        understood = reading is not None and reading.understood
        return Steered(goal, words, motion, canonical=order,
                       edits=[e.describe() for e in reading.edits] if understood else [fallback_edit],
                       program=reading.goal.to_dict() if understood else None, warnings=motion.warnings,
                       assessment=row)

    def _steer_edit(self, goal, words, feats, reading, asked, shown, warnings, seed, rounds, samples) -> Steered:
        """Refine toward the edited goal: candidates from the updated goal worded two ways (a corpus caption, the
        canonical description) and told two ways (the rule's fixes, the whole goal), decoded in one batch, plus
        `samples` drawn (seeded) refinements of the first; the model's assessment against the updated goal picks one
        (ties: the first); while it is not perfect and `rounds` are left, the assessment's own refinement is applied
        to it, kept when assessed better."""
        from .engine.edits import edit_instruction, goal_instruction, goal_text
        from .engine.programs import describe_program
        new_goal = goal_text(reading.goal, reading.edits, seed)
        fixes = edit_instruction(reading.goal, asked, reading.edits, shown, seed)
        whole = goal_instruction(reading.goal, seed)
        tries = list(dict.fromkeys([(new_goal, fixes), (new_goal, whole), (describe_program(reading.goal), whole)]))
        made = self.refine([feats] * len(tries), [t[1] for t in tries], goals=[t[0] for t in tries])
        if samples:  # drawn refinements of the first try, for the assessment to choose from too
            made += self.refine([feats] * samples, [fixes] * samples, goals=[new_goal] * samples, sample=True,
                                seed=seed)
            tries += [(new_goal, fixes)] * samples
        best, best_row, used = None, None, None
        found = [(m, t) for m, t in zip(made, tries) if m.joints is not None]
        if found:
            rows = self.assess([new_goal] * len(found), [m.features for m, _ in found])
            before = self._tokens([feats])[0]
            # the user asked for a change: at the same level, a motion that differs from the one they saw goes first
            # (the rule lets step counts one or two apart pass, so an unchanged walk can rank as high as a new one)
            key = lambda m, row: (_rank(row), m.rounds[0].tokens != before)  # noqa: E731
            for (m, t), row in zip(found, rows):
                if best is None or key(m, row) > key(best, best_row):
                    best, best_row, used = m, row, t[1]
        for _ in range(rounds - 1):
            if best is None or best_row["level"] == 3 or not best_row["refinement"]:
                break
            again = self.refine(best.features, best_row["refinement"], goals=new_goal)
            if again.joints is None:
                break
            row = self.assess(new_goal, again.features)
            if _rank(row) <= _rank(best_row):
                break
            best, best_row, used = again, row, best_row["refinement"]
        if best is None:  # the model made no motion at all
            best = made[0]
            used = tries[0][1]
        best.warnings = warnings + [w for w in best.warnings if w not in warnings]
        return Steered(new_goal, words, best, canonical=used, edits=[e.describe() for e in reading.edits],
                       program=reading.goal.to_dict(), warnings=best.warnings, assessment=best_row)

    def similarity(self, texts, motions) -> list[dict] | None:
        """The bundle's evaluator on each (text, motion) pair: {"evaluator": kind, "distance": Euclidean distance
        of the two embeddings (lower: a better match; MM-Dist averages it), "similarity": their cosine (higher:
        better)}. None when the bundle has no evaluator."""
        goals, feats, _, _ = self._pairs(texts, motions)
        evaluator = self._load_evaluator()
        if evaluator is None:
            return None
        t, m = evaluator.embed_texts(goals), evaluator.embed_motions(feats)
        distance = np.linalg.norm(t - m, axis=1)
        cosine = (t * m).sum(1) / np.maximum(np.linalg.norm(t, axis=1) * np.linalg.norm(m, axis=1), 1e-12)
        return [{"evaluator": evaluator.kind, "distance": float(d), "similarity": float(c)}
                for d, c in zip(distance, cosine)]

    def _load_evaluator(self):
        if self._evaluator is None:
            kinds = self.bundle.evaluators
            if not kinds:
                return None
            from .evaluator.registry import load_evaluator
            self._evaluator = load_evaluator(next(iter(kinds.values())), device=self.device)
        return self._evaluator


def _rank(row: dict) -> int:
    """An assessment's level for comparing candidates (none stated ranks below poor)."""
    return -1 if row["level"] is None else row["level"]


def _joints(features: np.ndarray) -> np.ndarray:
    from .motion.features import features_to_joints
    return features_to_joints(features.astype(np.float64)).astype(np.float32)


def _check_rounds(value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"max_rounds must be a positive integer, got {value!r}")


def _check_seed(value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**32 - 1:
        raise ValueError(f"seed must be an integer between 0 and {2**32 - 1}, got {value!r}")
