"""`irgmotion data import-bvh`: a directory of BVH files -> a dataset in HumanML3D layout.

    OUT/new_joints/ID.npy       (T, 22, 3) float32, normalised as the dataset does (see bvh_import)
    OUT/new_joint_vecs/ID.npy   (T, 263) float32
    OUT/texts/ID.txt            captions from the clip's labels, or one neutral caption without labels
    OUT/train.txt val.txt test.txt   held out by clip (seeded shuffle, 80/5/15)
    OUT/Mean.npy Std.npy        on the train split; Std grouped per feature block as HumanML3D does
    OUT/import.json             source, rig per clip, labels, skipped files

ID is the source file's stem. The dataset is written into OUT.partial and renamed at the end, so a
failed import leaves no OUT behind.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .bvh_import import BVHImportError, import_bvh_clip, load_rig_map
from .label_captions import (
    LabelError,
    bandai_schema,
    caption_labels,
    caption_lines,
    clip_labels,
    load_schema,
)

SPLIT_FRACTIONS = (("val", 0.05), ("test", 0.15))  # the rest is train
# Without labels every clip still needs a texts file for the loaders.
NEUTRAL_CAPTION = [("a person moves.", "a/DET person/NOUN move/VERB")]
EXIT_BAD_INPUT = 2


def find_sources(src: str | Path) -> list[Path]:
    src = Path(src)
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise BVHImportError(f"{src}: no such file or directory; expected a .bvh file or a directory of them")
    files = sorted(p for p in src.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())
    if not files:
        raise BVHImportError(f"{src}: holds no .bvh files")
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise BVHImportError(f"{f}: clip id {f.stem!r} also comes from {stems[f.stem]}; ids are file stems and "
                                 "must be unique")
        stems[f.stem] = f
    return files


def resolve_labels(labels: str | None, sources: list[Path]):
    """The label schema: None (neutral captions), 'bandai', a YAML path, or 'auto' (bandai when its
    cfg/ folder sits beside or above the clips and the clips have JSON labels)."""
    if labels in (None, "none"):
        return None
    if labels in ("auto", "bandai"):
        first = sources[0].parent
        for root in (first, first.parent):
            has_json = labels == "bandai" or sources[0].with_suffix(".json").is_file()
            if (root / "cfg" / "content_label.txt").is_file() and has_json:
                return bandai_schema(root)
        if labels == "bandai":
            raise LabelError(f"{first}: --labels bandai needs cfg/content_label.txt and cfg/style_label.txt "
                             "beside the clips or one folder up")
        return None
    return load_schema(labels)


def split_ids(ids: list[str], seed: int) -> dict[str, list[str]]:
    """Seeded shuffle; at least one train clip, val/test sizes rounded from SPLIT_FRACTIONS."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    out, start = {}, 0
    for name, frac in SPLIT_FRACTIONS:
        k = min(round(frac * len(order)), max(0, len(order) - 1 - start))
        out[name] = sorted(order[start:start + k])
        start += k
    out["train"] = sorted(order[start:])
    return out


def _job(args):
    path, part, rig, up, schema = args
    try:
        clip = import_bvh_clip(path, rig, up)
        if schema is not None:
            labels = clip_labels(schema, Path(path).with_suffix(".json"))
            captions = caption_labels(schema, labels, clip.id)
        else:
            labels, captions = {}, NEUTRAL_CAPTION
    except (BVHImportError, LabelError) as exc:
        return str(path), None, str(exc)
    part = Path(part)
    np.save(part / "new_joints" / f"{clip.id}.npy", clip.joints)
    np.save(part / "new_joint_vecs" / f"{clip.id}.npy", clip.features)
    (part / "texts" / f"{clip.id}.txt").write_text(caption_lines(captions), encoding="utf-8")
    info = {"rig": clip.rig, "source_fps": round(clip.source_fps, 4), "frames": len(clip.features),
            "mirrored": clip.mirrored, "labels": labels}
    return str(path), clip.id, info


def import_bvh(src, out, rig="auto", labels="auto", skip_bad=False, workers=1, seed=0, up="auto",
               progress=False) -> dict:
    """Write the dataset; raises BVHImportError/LabelError (one line) on the first bad file unless
    `skip_bad`, in which case bad files are listed in the summary's 'skipped'."""
    from .mix import feature_statistics

    sources = find_sources(src)
    rig_spec = load_rig_map(rig) if rig not in ("auto", "bandai", "cmu", "mixamo", "smpl") else rig
    schema = resolve_labels(labels, sources)
    out = Path(out)
    part = out.with_name(out.name + ".partial")
    if part.exists():
        shutil.rmtree(part)
    for sub in ("new_joints", "new_joint_vecs", "texts"):
        (part / sub).mkdir(parents=True)
    t0 = time.time()
    clips: dict[str, dict] = {}
    skipped: list[tuple[str, str]] = []
    jobs = [(str(p), str(part), rig_spec, up, schema) for p in sources]
    pool = None if workers <= 1 else get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers)
    try:
        results = map(_job, jobs) if pool is None else pool.imap(_job, jobs, chunksize=4)
        for done, (path, cid, info) in enumerate(results, 1):
            if cid is None:
                if not skip_bad:
                    raise BVHImportError(info)
                skipped.append((path, info))
            else:
                clips[cid] = info
            if progress and done % 50 == 0:
                print(f"  {done}/{len(sources)} files ({done / (time.time() - t0):.1f}/s)", file=sys.stderr, flush=True)
        if not clips:
            raise BVHImportError(f"{src}: no file could be imported ({len(skipped)} skipped)")
        splits = split_ids(list(clips), seed)
        mean, std = feature_statistics([part / "new_joint_vecs" / f"{i}.npy" for i in splits["train"]], 263)
        np.save(part / "Mean.npy", mean)
        np.save(part / "Std.npy", std)
        for name, ids in splits.items():
            (part / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        summary = {"source": str(src), "rig": rig if isinstance(rig, str) else "map", "labels": labels,
                   "seed": seed, "fps": 20.0, "sizes": {k: len(v) for k, v in splits.items()},
                   "clips": clips, "skipped": [{"file": f, "error": e} for f, e in skipped]}
        (part / "import.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # checked empty before the import
        os.replace(part, out)
    except BaseException:
        if pool is not None:
            pool.terminate()
        shutil.rmtree(part, ignore_errors=True)
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    summary["seconds"] = time.time() - t0
    return summary


def read_clip_labels(root: str | Path) -> dict[str, dict]:
    """Clip id -> its labels ({"content": "walk", "style": "elderly"}), for the clips that have any: from a mix's
    labels.json, else from an import's import.json; {} for a dataset without labels."""
    root = Path(root)
    try:
        if (root / "labels.json").is_file():
            return json.loads((root / "labels.json").read_text(encoding="utf-8"))
        if (root / "import.json").is_file():
            clips = json.loads((root / "import.json").read_text(encoding="utf-8")).get("clips", {})
            return {cid: info["labels"] for cid, info in clips.items() if info.get("labels")}
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(f"{root}: unreadable labels file ({exc})") from None
    return {}


def import_bvh_main(args) -> int:
    """CLI shell: one line and exit code 2 on bad input, a summary line on success."""
    from ..fileio import OutputPathError, check_output_dir

    try:
        out = check_output_dir(args.out, "dataset directory")
        summary = import_bvh(args.src, out, rig=args.rig, labels=args.labels, skip_bad=args.skip_bad,
                             workers=args.workers or os.cpu_count() or 1, seed=args.seed, up=args.up, progress=True)
    except (BVHImportError, LabelError, OutputPathError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sizes = summary["sizes"]
    print(f"imported {sum(sizes.values())} clips into {out} in {summary['seconds']:.1f}s: train {sizes['train']}, "
          f"val {sizes['val']}, test {sizes['test']}")
    for item in summary["skipped"]:
        print(f"skipped {item['error']}", file=sys.stderr)
    if summary["skipped"]:
        print(f"skipped {len(summary['skipped'])} bad file(s) (listed above and in {out}/import.json)", file=sys.stderr)
    return 0
