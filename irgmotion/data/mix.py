"""`irgmotion data mix A B [...] --out C [--weights ...]`: several datasets in HumanML3D layout -> one.

    C/new_joint_vecs/ID.npy    every clip the sources' split files list (hard links where the file system allows)
    C/new_joints/ID.npy        where the source has it
    C/texts/ID.txt             the source's caption lines, unchanged
    C/programs/ID.json         where the source has one (the procedural corpus): the data engine then annotates
                               those goals exactly and the others by comparing captions
    C/{train,val,test}.txt     each source's split merged into the same split
    C/Mean.npy, C/Std.npy      recomputed over C's train split (Std grouped per feature block, as HumanML3D's)
    C/labels.json              clip id -> labels, where a source has them (an import's import.json, a mix's
                               labels.json): the data engine compares labelled clips by their labels
    C/mix.json                 the sources: path, id prefix, weight, clips per split
    C/index.tsv                one line per clip: id, split, source name, the source's own id

Ids get the source's prefix ("NAME_ID") so that clips of different sources never collide; a mirrored
HumanML3D clip ("M" + id) keeps its leading "M" ("MNAME_ID"), which the loaders read as mirrored. Prefixes
are lower case, so no prefixed id starts with "M" by accident.

`--weights` sets each source's share of the train split: the source with the fewest clips per unit of weight
keeps all its train clips, the others keep a seeded random subset (weights 3 1 over 6,388 procedural and 448
real clips: 1,344 and 448). Validation and test splits are kept whole. The dataset is written into C.partial
and renamed at the end, so a failed mix leaves no C behind.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np

from .bvh_dataset import read_clip_labels
from .humanml3d import SPLITS, DatasetError, check_dataset_dir

_NAME = re.compile(r"[a-z0-9]+")


class MixError(ValueError):
    """Bad input to the mix: one line naming the source or the flag."""


def source_name(path: Path) -> str:
    """A lower-case prefix from the directory name ("bandai-namco-2" -> "bandainamco2")."""
    return "".join(_NAME.findall(path.name.lower())) or "src"


def mixed_id(prefix: str, source_id: str) -> str:
    if source_id.startswith("M"):  # a mirrored HumanML3D clip stays marked as one
        return f"M{prefix}_{source_id[1:]}"
    return f"{prefix}_{source_id}"


def _split_ids(root: Path, split: str) -> list[str]:
    path = root / f"{split}.txt"
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _feature_dim(root: Path, ids: list[str]) -> int:
    for i in ids:
        path = root / "new_joint_vecs" / f"{i}.npy"
        if path.is_file():
            try:
                return int(np.load(path, mmap_mode="r").shape[-1])
            except Exception as exc:
                raise MixError(f"{path}: unreadable .npy ({exc})") from None
    raise MixError(f"{root}: none of its listed clips has a file in new_joint_vecs/")


def _place(src: Path, dst: Path) -> None:
    """Hard-link (no extra space) when both sit on one file system, else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def train_shares(counts: list[int], weights: list[float], seed: int) -> list[int]:
    """How many train clips each source keeps so that the shares follow `weights`."""
    scale = min(n / w for n, w in zip(counts, weights))
    return [min(n, max(1, round(scale * w))) if n else 0 for n, w in zip(counts, weights)]


def feature_statistics(files: list[Path], feature_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and HumanML3D's grouped Std over every frame of `files` (the train split's motions)."""
    from .synth.corpus import grouped_std
    total = np.zeros(feature_dim)
    total_sq = np.zeros(feature_dim)
    count = 0
    for f in files:
        x = np.load(f).astype(np.float64)
        total += x.sum(0)
        total_sq += (x * x).sum(0)
        count += len(x)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    joints = 22 if feature_dim == 263 else 21  # HumanML3D / KIT-ML
    return mean.astype(np.float32), grouped_std(std, joints).astype(np.float32)


def mix_datasets(sources: list[str | Path], out: str | Path, weights: list[float] | None = None,
                 seed: int = 0, log=None) -> dict:
    """Write the mixed dataset at `out` (absent or empty); returns the summary written to mix.json."""
    roots = [Path(s) for s in sources]
    if len(roots) < 2:
        raise MixError("give at least two dataset directories to mix")
    if weights is not None:
        if len(weights) != len(roots):
            raise MixError(f"--weights gives {len(weights)} weight(s) for {len(roots)} dataset(s)")
        if not all(np.isfinite(w) and w > 0 for w in weights):
            raise MixError(f"--weights must be positive numbers, got {' '.join(map(str, weights))}")
    names: list[str] = []
    for root in roots:
        try:
            check_dataset_dir(root, ("train",))
        except DatasetError as exc:
            raise MixError(str(exc)) from None
        name = base = source_name(root)
        k = 2
        while name in names:  # two sources with the same folder name
            name, k = f"{base}{k}", k + 1
        names.append(name)
    split_ids = [{s: _split_ids(r, s) for s in SPLITS} for r in roots]
    dims = [_feature_dim(r, ids["train"]) for r, ids in zip(roots, split_ids)]
    if len(set(dims)) > 1:
        raise MixError("the datasets have different feature sizes (" + ", ".join(
            f"{r}: {d}" for r, d in zip(roots, dims)) + "); mix only one skeleton's datasets")
    if weights is not None:
        keep = train_shares([len(ids["train"]) for ids in split_ids], list(weights), seed)
        for ids, n, name in zip(split_ids, keep, names):
            rng = random.Random(f"{seed}:{name}")
            ids["train"] = sorted(rng.sample(ids["train"], n))
    for root in roots:
        try:
            read_clip_labels(root)
        except ValueError as exc:
            raise MixError(str(exc)) from None
    for root, ids in zip(roots, split_ids):  # every listed clip has its features (checked before writing)
        for s in SPLITS:
            for i in ids[s]:
                if not (root / "new_joint_vecs" / f"{i}.npy").is_file():
                    raise MixError(f"{root / 'new_joint_vecs' / (i + '.npy')}: missing motion file listed in "
                                   f"{root / (s + '.txt')}")
                if not (root / "texts" / f"{i}.txt").is_file():
                    raise MixError(f"{root / 'texts' / (i + '.txt')}: missing caption file listed in "
                                   f"{root / (s + '.txt')}")

    out = Path(out)
    part = out.with_name(out.name + ".partial")
    shutil.rmtree(part, ignore_errors=True)
    try:
        for sub in ("new_joint_vecs", "new_joints", "texts", "programs"):
            (part / sub).mkdir(parents=True)
        merged: dict[str, list[str]] = {s: [] for s in SPLITS}
        labels: dict[str, dict] = {}
        position: dict[str, tuple[float, int]] = {}  # (place within its source's split in [0, 1), source)
        index, per_source = [], []
        for root, name, ids, w in zip(roots, names, split_ids, weights or [None] * len(roots)):
            counts = {}
            source_labels = read_clip_labels(root)
            for s in SPLITS:
                for n, i in enumerate(ids[s]):
                    new = mixed_id(name, i)
                    _place(root / "new_joint_vecs" / f"{i}.npy", part / "new_joint_vecs" / f"{new}.npy")
                    _place(root / "texts" / f"{i}.txt", part / "texts" / f"{new}.txt")
                    for sub, ext in (("new_joints", ".npy"), ("programs", ".json")):
                        if (root / sub / f"{i}{ext}").is_file():
                            _place(root / sub / f"{i}{ext}", part / sub / f"{new}{ext}")
                    position[new] = (n / len(ids[s]), len(per_source))
                    if i in source_labels:
                        labels[new] = source_labels[i]
                    merged[s].append(new)
                    index.append(f"{new}\t{s}\t{name}\t{i}\n")
                counts[s] = len(ids[s])
            per_source.append({"name": name, "path": str(root.resolve()), "prefix": f"{name}_", "weight": w,
                               "sizes": counts})
            if log:
                log(f"  {name}: " + ", ".join(f"{s} {counts[s]}" for s in SPLITS) + f" (from {root})")
        for sub in ("new_joints", "programs"):
            if not any((part / sub).iterdir()):
                (part / sub).rmdir()
        mean, std = feature_statistics([part / "new_joint_vecs" / f"{i}.npy" for i in merged["train"]], dims[0])
        if not np.all(std > 0):
            raise MixError(f"the mixed train split has a feature of zero spread (channel {int(np.argmin(std))}); "
                           "it cannot be normalised")
        np.save(part / "Mean.npy", mean)
        np.save(part / "Std.npy", std)
        for s in SPLITS:  # interleaved in proportion, so the first N ids of a split (--limit) sample every source
            order = sorted(merged[s], key=lambda i: position[i])
            (part / f"{s}.txt").write_text("".join(f"{i}\n" for i in order), encoding="utf-8")
        if labels:  # the data engine compares labelled clips by their labels
            (part / "labels.json").write_text(json.dumps(labels, indent=0) + "\n", encoding="utf-8")
        (part / "index.tsv").write_text("id\tsplit\tsource\tsource_id\n" + "".join(index), encoding="utf-8")
        summary = {"version": 1, "seed": seed, "sources": per_source,
                   "sizes": {s: len(merged[s]) for s in SPLITS}, "feature_dim": dims[0]}
        (part / "mix.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # checked empty before the mix
        os.replace(part, out)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return summary


def source_of(root: str | Path) -> dict[str, str]:
    """Clip id -> source name, from a mixed dataset's index.tsv ({} for a dataset that is not a mix)."""
    path = Path(root) / "index.tsv"
    if not path.is_file():
        return {}
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return {r.split("\t")[0]: r.split("\t")[2] for r in rows if r}


def mix_main(args) -> int:
    """CLI shell: one line and exit code 2 on bad input, a summary line on success."""
    import sys

    from ..fileio import OutputPathError, check_output_dir
    try:
        out = check_output_dir(args.out, "dataset directory")
        for src in args.sources:
            if Path(src).resolve() == out.resolve():
                raise MixError(f"--out {out}: is one of the datasets to mix")
        summary = mix_datasets(args.sources, out, args.weights, args.seed, log=print)
    except (MixError, OutputPathError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = summary["sizes"]
    print(f"mixed {len(summary['sources'])} datasets into {out}: train {sizes['train']}, val {sizes['val']}, "
          f"test {sizes['test']}")
    return 0
