"""A conversation about one motion: a goal, the model's rounds, then the user's own instructions, each an
instructed refinement of the current motion (`MotionReasoner.steer`) assessed again against the goal it updated.

    from irgmotion import MotionReasoner
    from irgmotion.session import ChatSession
    s = ChatSession(MotionReasoner.from_pretrained(), path="chat.json")   # saved after every turn
    s.new_goal("a person raises their right arm")    # a Turn: the rounds, the answer, its assessment
    s.instruct("use the left hand instead")          # a Turn: the updated goal, the canonical instruction, ...
    s.undo(); s.save_motion("arm.bvh")
    s = ChatSession.load(reasoner, "chat.json")      # resume

The session file is JSON (written atomically): each turn with its text, the goal after it, the motion as the
bundle's motion tokens (decoded again on load: a few hundred bytes a motion), the assessment and, for a goal, its
rounds. `irgmotion chat` and the web studio are shells over this object.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SESSION_FORMAT = "irgmotion-chat-session"
SESSION_VERSION = 1
MAX_SESSION_BYTES = 64 * 2**20


class SessionFileError(ValueError):
    """A session file that cannot be resumed; the message names the file and the field."""


@dataclass
class Round:
    tokens: list[int] | None
    assessment: str = ""
    refinement: str = ""


@dataclass
class Turn:
    """One step of the conversation. kind "goal": the model's rounds for `text`; kind "instruction": `text` (the
    user's words) applied to the previous turn's motion. `goal` is the goal after the turn, `tokens` the current
    motion, `level` / `assessment` / `refinement` its assessment against `goal`."""
    kind: str
    text: str
    goal: str
    tokens: list[int] | None
    level: int | None = None
    assessment: str = ""
    refinement: str = ""
    warnings: list[str] = field(default_factory=list)
    analysis: str = ""  # goal turns
    rounds: list[Round] = field(default_factory=list)
    answer_round: int | None = None
    canonical: str = ""  # instruction turns: what the model was told, and what changed in the goal
    edits: list[str] = field(default_factory=list)
    features: np.ndarray | None = field(default=None, repr=False, compare=False)  # decoded, not saved

    @property
    def joints(self) -> np.ndarray | None:
        from .api import _joints
        return None if self.features is None else _joints(self.features)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("features")
        return d


class ChatSession:
    """The turns of one conversation over a `MotionReasoner`; `path` (optional): where it is saved after each turn."""

    def __init__(self, reasoner, path: str | Path | None = None):
        self.reasoner = reasoner
        self.path = None if path is None else Path(path)
        self.turns: list[Turn] = []

    @property
    def current(self) -> Turn | None:
        """The latest turn (its motion is the current motion), or None before the first goal."""
        return self.turns[-1] if self.turns else None

    # ---- turns --------------------------------------------------------------------------------------------------
    def new_goal(self, goal: str) -> Turn:
        """Generate for a goal (interleaved reasoning, as `irgmotion generate`); ValueError for a bad goal."""
        m = self.reasoner.generate(goal)
        k = m.answer_round
        answer = m.rounds[k] if k is not None else None
        turn = Turn("goal", m.goal, m.goal, None if answer is None else list(answer.tokens),
                    level=None if answer is None else answer.level,
                    assessment="" if answer is None else answer.assessment,
                    refinement="" if answer is None else answer.refinement, warnings=list(m.warnings),
                    analysis=m.analysis, answer_round=k,
                    rounds=[Round(None if r.tokens is None else list(r.tokens), r.assessment, r.refinement)
                            for r in m.rounds], features=m.features)
        if turn.tokens is None:
            turn.warnings.append("the model made no motion for this goal; try another wording")
        return self._push(turn)

    def instruct(self, words: str) -> Turn:
        """The user's instruction on the current motion: steered (refined), then assessed against the updated goal.
        ValueError when there is no motion yet or the words are empty."""
        cur = self._motion_turn()
        if cur is None:
            raise ValueError("there is no motion yet; give a goal first")
        steered = self.reasoner.steer(cur.goal, cur.features, words, assessment=cur.assessment)
        m = steered.motion
        turn = Turn("instruction", steered.instruction, steered.goal,
                    None if m.joints is None else list(m.rounds[0].tokens), warnings=list(steered.warnings),
                    canonical=steered.canonical, edits=list(steered.edits), features=m.features)
        if m.joints is None:
            turn.warnings.append("the model made no refined motion; the previous motion stays")
            turn.tokens, turn.features, turn.goal = cur.tokens, cur.features, cur.goal
        row = steered.assessment if steered.assessment is not None and m.joints is not None else \
            self.reasoner.assess(turn.goal, turn.features)
        turn.level, turn.assessment, turn.refinement = row["level"], row["assessment"], row["refinement"] or ""
        turn.warnings += [w for w in row["warnings"] if w not in turn.warnings]
        return self._push(turn)

    def undo(self) -> Turn | None:
        """Drop the latest turn; returns the turn that is current again (None when none is left)."""
        if not self.turns:
            raise ValueError("nothing to undo")
        self.turns.pop()
        self.save()
        return self.current

    def _motion_turn(self) -> Turn | None:
        for t in reversed(self.turns):
            if t.features is not None:
                return t
        return None

    def _push(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        self.save()
        return turn

    # ---- files --------------------------------------------------------------------------------------------------
    def save_motion(self, path: str | Path) -> Path:
        """Write the current motion by suffix: .npy (joints), .bvh, .gif or .mp4 (ValueError otherwise)."""
        from .api import Motion
        cur = self._motion_turn()
        if cur is None:
            raise ValueError("there is no motion yet; give a goal first")
        return Motion(cur.goal, cur.features, cur.joints, [], None, "").save(path)

    def to_dict(self) -> dict:
        return {"format": SESSION_FORMAT, "version": SESSION_VERSION,
                "codebook_size": int(self.reasoner.bundle.vq.codebook_size),
                "turns": [t.to_dict() for t in self.turns]}

    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the session as JSON, atomically (to `path`, or the session's own path; None: not saved)."""
        from .fileio import write_text
        target = Path(path) if path is not None else self.path
        if target is None:
            return None
        write_text(target, json.dumps(self.to_dict(), indent=1))
        return target

    @classmethod
    def load(cls, reasoner, path: str | Path) -> "ChatSession":
        """Resume a saved session (the motions are decoded again by the reasoner's tokenizer); SessionFileError
        naming the file and field for anything that is not a session this bundle can read."""
        path = Path(path)
        session = cls(reasoner, path)
        session.turns = read_session(path, int(reasoner.bundle.vq.codebook_size))
        made = [t for t in session.turns if t.tokens]
        if made:
            for t, feats in zip(made, reasoner.bundle.vq.decode([t.tokens for t in made])):
                t.features = feats
        return session


# ---- reading a session file (no model: checked before the bundle loads) ----------------------------------------
def _tokens(value, where: str, codebook: int | None) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                           for v in value):
        raise SessionFileError(f"{where}: expected a non-empty list of motion token ids or null")
    top = codebook if codebook is not None else math.inf
    if any(v < 0 or v >= top for v in value):
        raise SessionFileError(f"{where}: motion token ids must be in [0, {codebook}) for this bundle")
    return list(value)


def _text(value, where: str, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise SessionFileError(f"{where}: expected {'text' if empty else 'non-empty text'}")
    return value


def read_session(path: str | Path, codebook: int | None = None) -> list[Turn]:
    """The turns of a session file, checked field by field (codebook: the bundle's, to check token ids)."""
    path = Path(path)
    if path.is_dir():
        raise SessionFileError(f"{path}: is a directory; expected a chat session JSON file")
    try:
        if path.stat().st_size > MAX_SESSION_BYTES:
            raise SessionFileError(f"{path}: larger than {MAX_SESSION_BYTES // 2**20} MiB; not a chat session file")
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SessionFileError(f"{path}: not UTF-8 text (byte {exc.start}); expected a chat session JSON file") from None
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); expected a chat session "
                               "file written by irgmotion chat") from None
    except RecursionError:
        raise SessionFileError(f"{path}: JSON nested too deeply; not a chat session file") from None
    except OSError as exc:
        raise SessionFileError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise SessionFileError(f"{path}: not a chat session file (expected \"format\": \"{SESSION_FORMAT}\")")
    if doc.get("version") != SESSION_VERSION:
        raise SessionFileError(f"{path}: session version {doc.get('version')!r}; this irgmotion reads version "
                               f"{SESSION_VERSION}")
    if codebook is not None and doc.get("codebook_size") not in (None, codebook):
        raise SessionFileError(f"{path}: made with a bundle of {doc.get('codebook_size')} motion tokens; this "
                               f"bundle has {codebook}; use the bundle the session was made with (--bundle)")
    turns = doc.get("turns")
    if not isinstance(turns, list):
        raise SessionFileError(f"{path}: \"turns\": expected a list")
    out = []
    for i, t in enumerate(turns):
        where = f"{path}: turns[{i}]"
        if not isinstance(t, dict):
            raise SessionFileError(f"{where}: expected an object")
        kind = t.get("kind")
        if kind not in ("goal", "instruction"):
            raise SessionFileError(f"{where}.kind: expected \"goal\" or \"instruction\", got {str(kind)[:40]!r}")
        if kind == "instruction" and not out:
            raise SessionFileError(f"{where}: an instruction before any goal")
        level = t.get("level")
        if level is not None and (not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 3):
            raise SessionFileError(f"{where}.level: expected 0-3 or null")
        rounds = t.get("rounds", [])
        if not isinstance(rounds, list) or not all(isinstance(r, dict) for r in rounds):
            raise SessionFileError(f"{where}.rounds: expected a list of objects")
        answer = t.get("answer_round")
        if answer is not None and (not isinstance(answer, int) or isinstance(answer, bool)
                                   or not 0 <= answer < max(len(rounds), 1)):
            raise SessionFileError(f"{where}.answer_round: expected an index into rounds or null")
        lists = {k: t.get(k, []) for k in ("warnings", "edits")}
        for k, v in lists.items():
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise SessionFileError(f"{where}.{k}: expected a list of text")
        out.append(Turn(
            kind, _text(t.get("text"), f"{where}.text", empty=False), _text(t.get("goal"), f"{where}.goal", False),
            _tokens(t.get("tokens"), f"{where}.tokens", codebook), level,
            _text(t.get("assessment", ""), f"{where}.assessment"), _text(t.get("refinement", ""), f"{where}.refinement"),
            list(lists["warnings"]), _text(t.get("analysis", ""), f"{where}.analysis"),
            [Round(_tokens(r.get("tokens"), f"{where}.rounds[{k}].tokens", codebook),
                   _text(r.get("assessment", ""), f"{where}.rounds[{k}].assessment"),
                   _text(r.get("refinement", ""), f"{where}.rounds[{k}].refinement")) for k, r in enumerate(rounds)],
            answer, _text(t.get("canonical", ""), f"{where}.canonical"), list(lists["edits"])))
    return out
