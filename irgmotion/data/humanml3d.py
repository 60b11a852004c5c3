"""Datasets in the HumanML3D layout (HumanML3D, KIT-ML, and our procedural corpus).

    ROOT/new_joint_vecs/ID.npy   (T, 263) or (T, 251) features
    ROOT/new_joints/ID.npy       (T, J, 3) joints (optional)
    ROOT/texts/ID.txt            caption#word/POS ...#start#end
    ROOT/{train,val,test}.txt    one id per line ("M..." ids are mirrored clips)
    ROOT/Mean.npy, ROOT/Std.npy  normalisation statistics

Lines with start/end cut sub-clips out of the motion, as the dataset's own
loaders do; such a clip gets a new id "A_ID", "B_ID", ... per source motion.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..motion.normalize import Normalizer
from ..motion.skeleton import SkeletonSpec, get_skeleton, skeleton_for_dim
from .texts import TextEntry, read_text_file

SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """A dataset directory that does not have what the loader needs."""


@dataclass
class Clip:
    """One motion with all its captions. `motion` is raw (unnormalised) features."""

    id: str
    source_id: str
    motion: np.ndarray
    texts: list[TextEntry] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.motion)

    @property
    def mirrored(self) -> bool:
        return self.source_id.startswith("M")


def read_split(root: Path, split: str) -> list[str]:
    path = root / f"{split}.txt"
    if not path.is_file():
        raise DatasetError(f"{path}: missing split file (one motion id per line)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def check_dataset_dir(root: str | Path, splits: tuple[str, ...] = ("train",)) -> Path:
    """Cheap layout check before any work: the directory, its statistics, the motion folder and non-empty
    split files. Raises DatasetError naming the first thing missing."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset directory not found")
    for name in ("Mean.npy", "Std.npy"):
        if not (root / name).is_file():
            raise DatasetError(f"{root / name}: missing normalisation statistics (a dataset in HumanML3D layout)")
    if not (root / "new_joint_vecs").is_dir():
        raise DatasetError(f"{root / 'new_joint_vecs'}: missing motion folder (a dataset in HumanML3D layout)")
    for split in splits:
        if not read_split(root, split):
            raise DatasetError(f"{root / (split + '.txt')}: split file lists no motion ids")
    return root


def _load_features(path: Path, spec: SkeletonSpec | None) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: missing motion file listed in the split")
    try:
        data = np.load(path)
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable .npy ({exc})") from None
    dim = spec.feature_dim if spec else None
    if data.ndim != 2 or (dim and data.shape[1] != dim) or (not dim and skeleton_for_dim(data.shape[1]) is None):
        want = f"(T, {dim})" if dim else "(T, 263) or (T, 251)"
        raise DatasetError(f"{path}: expected features of shape {want}, got {data.shape}")
    return data


def _subclip_id(k: int, source_id: str) -> str:
    # The dataset names sub-clips with a letter prefix ("A_012314").
    prefix = chr(ord("A") + k) if k < 26 else str(k)
    return f"{prefix}_{source_id}"


class MotionTextDataset:
    """Clips of one split, filtered to [min_len, max_len) frames.

    Usable as a torch Dataset (`len`, `__getitem__` -> dict with a random
    caption per access, normalised motion cropped to `max_frames`) and by plain
    iteration over `clips`.
    """

    def __init__(self, root: str | Path, split: str = "train", dataset: str | None = None,
                 min_len: int = 40, max_len: int = 200, max_frames: int = 196, unit_length: int = 4,
                 include_mirrored: bool = True, normalize: bool = True, limit: int | None = None,
                 seed: int | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset directory not found")
        if split not in SPLITS:
            raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
        self.spec = get_skeleton(dataset) if dataset else None
        self.split = split
        self.max_frames = max_frames
        self.unit_length = unit_length
        self.normalizer = Normalizer.from_dir(self.root) if normalize else None
        self.rng = random.Random(seed)
        ids = read_split(self.root, split)
        if not include_mirrored:
            ids = [i for i in ids if not i.startswith("M")]
        self.clips: list[Clip] = []
        for source_id in ids:
            if limit is not None and len(self.clips) >= limit:
                break
            self._add(source_id, min_len, max_len)
        if self.spec is None and self.clips:
            self.spec = skeleton_for_dim(self.clips[0].motion.shape[1])
        if self.normalizer is not None and self.spec is not None and self.normalizer.dim != self.spec.feature_dim:
            raise DatasetError(f"{self.root}/Mean.npy has {self.normalizer.dim} channels, motions have {self.spec.feature_dim}")

    def _add(self, source_id: str, min_len: int, max_len: int) -> None:
        motion = _load_features(self.root / "new_joint_vecs" / f"{source_id}.npy", self.spec)
        texts = read_text_file(self.root / "texts" / f"{source_id}.txt")
        fps = (self.spec or skeleton_for_dim(motion.shape[1])).fps
        whole = [t for t in texts if not t.is_subclip]
        if whole and min_len <= len(motion) < max_len:
            self.clips.append(Clip(source_id, source_id, motion.astype(np.float32), whole))
        for k, entry in enumerate(t for t in texts if t.is_subclip):
            sub = motion[int(entry.start * fps):int(entry.end * fps)]
            if min_len <= len(sub) < max_len:
                self.clips.append(Clip(_subclip_id(k, source_id), source_id, sub.astype(np.float32), [entry]))

    # torch-style access -------------------------------------------------
    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        entry = self.rng.choice(clip.texts)
        motion = clip.motion
        if len(motion) > self.max_frames:  # random window, as the standard loaders do
            start = self.rng.randint(0, len(motion) - self.max_frames)
            motion = motion[start:start + self.max_frames]
        length = (len(motion) // self.unit_length) * self.unit_length
        motion = motion[:length]
        if self.normalizer is not None:
            motion = self.normalizer.normalize(motion)
        return {"id": clip.id, "motion": motion.astype(np.float32), "length": length,
                "caption": entry.caption, "tokens": list(entry.tokens)}

    def __iter__(self):
        return iter(self.clips)

    def captions(self) -> list[tuple[str, str]]:
        """Every (clip id, caption) pair of the split."""
        return [(c.id, t.caption) for c in self.clips for t in c.texts]


def collate(batch: list[dict]) -> dict:
    """Pad motions to the longest in the batch; torch tensors out."""
    import torch
    lengths = torch.tensor([b["length"] for b in batch])
    dim = batch[0]["motion"].shape[-1]
    motions = torch.zeros(len(batch), int(lengths.max()), dim)
    for i, b in enumerate(batch):
        motions[i, : b["length"]] = torch.from_numpy(b["motion"])
    return {"motion": motions, "length": lengths, "caption": [b["caption"] for b in batch],
            "tokens": [b["tokens"] for b in batch], "id": [b["id"] for b in batch]}
