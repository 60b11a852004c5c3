"""The authors' annotation JSON schema (read and write).

    {"info": {...}, "annotations": [
        {"id": 0, "task": "...", "conversations": [{"from": "system"|"human"|"gpt", "value": "<Template_Key>"}],
         # either one motion/text set ...
         "motions": {"<Goal_Motion>": {"motion_name": "000002", "f_tag": 0.0, "to_tag": 0.0}},
         "text": {"<Goal_Caption>": ["...", ...]},
         # ... or several candidates, one drawn per access
         "candidate_motion_text": [{"motions": {...}, "text": {...}, "meta_inst_name": "000002_0"}]}]}

Text values are a list of alternatives (one drawn per access), a plain string,
or for stage-2 assessments a dict {"assessment", "refinement"}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import write_text

ROLES = ("system", "human", "gpt")

# The human template decides the task; the authors' instructed-refinement file
# carries the task label of direct refinement, which we correct on reading.
TASK_BY_TEMPLATE = {"<Instructed_Motion_Refinement_Template>": "tm2m_instructed_refinement"}


class AnnotationError(ValueError):
    """An annotation file that does not follow the schema; names the file, entry and field."""


@dataclass(frozen=True)
class MotionRef:
    motion_name: str
    f_tag: float = 0.0
    to_tag: float = 0.0

    def to_dict(self) -> dict:
        return {"motion_name": self.motion_name, "f_tag": self.f_tag, "to_tag": self.to_tag}


@dataclass
class Candidate:
    motions: dict[str, MotionRef] = field(default_factory=dict)
    text: dict[str, object] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)  # e.g. meta_inst_name, alignment level

    def to_dict(self) -> dict:
        return {**self.meta, "motions": {k: m.to_dict() for k, m in self.motions.items()}, "text": self.text}


@dataclass
class Annotation:
    id: int
    task: str
    conversations: list[tuple[str, str]]
    candidates: list[Candidate]
    single: bool = False  # written with top-level motions/text instead of a candidate list

    @property
    def template(self) -> str:
        return next((v for r, v in self.conversations if r == "human"), "")

    @property
    def response_key(self) -> str:
        return next((v for r, v in self.conversations if r == "gpt"), "")

    @property
    def effective_task(self) -> str:
        return TASK_BY_TEMPLATE.get(self.template, self.task)

    def to_dict(self) -> dict:
        d = {"id": self.id, "task": self.task,
             "conversations": [{"from": r, "value": v} for r, v in self.conversations]}
        if self.single:
            d.update(motions={k: m.to_dict() for k, m in self.candidates[0].motions.items()},
                     text=self.candidates[0].text)
        else:
            d["candidate_motion_text"] = [c.to_dict() for c in self.candidates]
        return d


def _candidate(raw: dict, where: str) -> Candidate:
    if not isinstance(raw, dict):
        raise AnnotationError(f"{where}: expected an object with 'motions' and 'text'")
    motions = {}
    for key, ref in (raw.get("motions") or {}).items():
        if not isinstance(ref, dict) or "motion_name" not in ref:
            raise AnnotationError(f"{where}.motions[{key!r}]: expected {{motion_name, f_tag, to_tag}}")
        try:
            motions[key] = MotionRef(str(ref["motion_name"]), float(ref.get("f_tag", 0.0) or 0.0),
                                     float(ref.get("to_tag", 0.0) or 0.0))
        except (TypeError, ValueError):
            raise AnnotationError(f"{where}.motions[{key!r}]: f_tag/to_tag must be numbers") from None
    text = raw.get("text") or {}
    if not isinstance(text, dict):
        raise AnnotationError(f"{where}.text: expected an object mapping keys to texts")
    for key, value in text.items():
        ok = isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)) \
            or (isinstance(value, dict) and {"assessment", "refinement"} <= set(value))
        if not ok:
            raise AnnotationError(f"{where}.text[{key!r}]: expected a string, a non-empty list of strings "
                                  "or {assessment, refinement}")
    meta = {k: v for k, v in raw.items() if k not in ("motions", "text")}
    return Candidate(motions, dict(text), meta)


def parse_annotations(data: dict, source: str = "<annotations>") -> list[Annotation]:
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise AnnotationError(f"{source}: expected a top-level object with an 'annotations' list")
    out = []
    for i, raw in enumerate(data["annotations"]):
        where = f"{source}: annotations[{i}]"
        if not isinstance(raw, dict):
            raise AnnotationError(f"{where}: expected an object")
        for key in ("task", "conversations"):
            if key not in raw:
                raise AnnotationError(f"{where}: missing field {key!r}")
        conv = []
        for j, turn in enumerate(raw["conversations"]):
            if not isinstance(turn, dict) or turn.get("from") not in ROLES or not isinstance(turn.get("value"), str):
                raise AnnotationError(f"{where}.conversations[{j}]: expected {{from: system|human|gpt, value: str}}")
            conv.append((turn["from"], turn["value"]))
        if "candidate_motion_text" in raw:
            cands = raw["candidate_motion_text"]
            if not isinstance(cands, list) or not cands:
                raise AnnotationError(f"{where}.candidate_motion_text: expected a non-empty list")
            candidates = [_candidate(c, f"{where}.candidate_motion_text[{k}]") for k, c in enumerate(cands)]
            single = False
        else:
            candidates = [_candidate({"motions": raw.get("motions") or {}, "text": raw.get("text") or {}}, where)]
            single = True
        out.append(Annotation(int(raw.get("id", i)), str(raw["task"]), conv, candidates, single))
    return out


def read_annotations(path: str | Path) -> list[Annotation]:
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: annotation file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path}: not valid JSON ({exc})") from None
    return parse_annotations(data, str(path))


def write_annotations(path: str | Path, annotations: list[Annotation], info: dict | None = None) -> None:
    data = {"info": {"num_instances": len(annotations), **(info or {})},
            "annotations": [a.to_dict() for a in annotations]}
    write_text(path, json.dumps(data, indent=1, ensure_ascii=False))
