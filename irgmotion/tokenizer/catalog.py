"""Motion names -> token ids, for annotations that refer to motions by dataset id.

A name is looked up as `ROOT/new_joint_vecs/NAME.npy` in each motion root in
turn (the dataset, then e.g. the data engine's own motions); `f_tag`/`to_tag`
cut a sub-clip in seconds. Token ids are computed once and cached in a JSON
file so training epochs and later runs do not re-encode.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.annotations import Annotation, MotionRef
from ..fileio import write_text
from .pretrained import MotionTokenizer


class MotionNotFound(KeyError):
    pass


def _key(ref: MotionRef) -> str:
    return f"{ref.motion_name}|{ref.f_tag:g}|{ref.to_tag:g}"


class MotionCatalog:
    def __init__(self, roots: list[str | Path], tokenizer: MotionTokenizer, cache: str | Path | None = None,
                 max_frames: int = 196):
        self.max_frames = max_frames  # longer clips are cut, as the datasets' loaders do
        self.roots = [Path(r) for r in roots]
        self.tokenizer = tokenizer
        self.cache_path = Path(cache) if cache else None
        self.ids: dict[str, list[int]] = {}
        if self.cache_path and self.cache_path.is_file():
            data = json.loads(self.cache_path.read_text())
            if data.get("codebook_size") == tokenizer.codebook_size:
                self.ids = data["tokens"]

    def features(self, ref: MotionRef) -> np.ndarray:
        for root in self.roots:
            path = root / "new_joint_vecs" / f"{ref.motion_name}.npy"
            if path.is_file():
                motion = np.load(path).astype(np.float32)
                if ref.f_tag or ref.to_tag:
                    fps = 20.0 if motion.shape[1] == 263 else 12.5
                    motion = motion[int(ref.f_tag * fps):int(ref.to_tag * fps)]
                return motion[: self.max_frames]
        raise MotionNotFound(f"motion {ref.motion_name!r} not found under "
                             + ", ".join(str(r / "new_joint_vecs") for r in self.roots))

    def __call__(self, ref: MotionRef) -> list[int]:
        key = _key(ref)
        if key not in self.ids:
            self.ids[key] = self.tokenizer.encode(self.features(ref))[0].tolist()
        return self.ids[key]

    def prefetch(self, entries: list[Annotation], save: bool = True) -> int:
        """Encode every referenced motion in batches; returns how many were new. `save=False`: keep the cache
        file as it is (the processes of a run other than the main one)."""
        todo: dict[str, MotionRef] = {}
        for entry in entries:
            for cand in entry.candidates:
                for ref in cand.motions.values():
                    if _key(ref) not in self.ids:
                        todo[_key(ref)] = ref
        keys = list(todo)
        feats = [self.features(todo[k]) for k in keys]
        for k, ids in zip(keys, self.tokenizer.encode(feats) if feats else []):
            self.ids[k] = ids.tolist()
        if save:
            self.save()
        return len(keys)

    def save(self) -> None:
        if self.cache_path:
            write_text(self.cache_path, json.dumps({"codebook_size": self.tokenizer.codebook_size, "tokens": self.ids}))
