import json
import random
from pathlib import Path

import pytest

from irgmotion.data.annotations import AnnotationError, read_annotations, write_annotations
from irgmotion.llm.prompting import build_example
from irgmotion.llm.templates import STAGE1_TASKS

DEMO = Path(__file__).resolve().parent / "fixtures" / "irg_annotations"
FILES = sorted(DEMO.glob("**/*.json"))


def _resolve(ref):
    return [len(ref.motion_name) % 8, 3]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_reads_authors_demo_files_and_builds_examples(path, tmp_path):
    entries = read_annotations(path)
    assert entries
    rng = random.Random(0)
    for entry in entries:
        system, user, segments = build_example(entry, _resolve, rng)
        assert system and user and segments
        assert "<Goal_Caption>" not in user and "_Template>" not in user
        assert all(isinstance(t, str) and t for t, _ in segments)
    out = tmp_path / "again.json"
    write_annotations(out, entries)
    again = read_annotations(out)
    assert [a.to_dict() for a in again] == [a.to_dict() for a in entries]


def test_stage1_tasks_covered_and_task_label_corrected():
    tasks = {read_annotations(p)[0].effective_task for p in FILES if "stage-1" in str(p)}
    assert tasks == set(STAGE1_TASKS)


@pytest.mark.parametrize("data, match", [
    ({}, "annotations"),
    ({"annotations": [{"conversations": []}]}, "task"),
    ({"annotations": [{"task": "x", "conversations": [{"from": "bot", "value": "a"}]}]}, "conversations"),
    ({"annotations": [{"task": "x", "conversations": [], "motions": {"<M>": {"name": 1}}}]}, "motion_name"),
    ({"annotations": [{"task": "x", "conversations": [], "text": {"<T>": 3}}]}, "text"),
    ({"annotations": [{"task": "x", "conversations": [], "candidate_motion_text": []}]}, "non-empty"),
])
def test_schema_errors_name_the_field(tmp_path, data, match):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=match) as info:
        read_annotations(path)
    assert "bad.json" in str(info.value)
