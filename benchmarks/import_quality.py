"""Physical quality of imported motion capture next to HumanML3D's own clips.

    python benchmarks/import_quality.py --imported DIR            # a dataset `irgmotion data import-bvh` wrote
    python benchmarks/import_quality.py --src BVH_DIR [--rig bandai] [--workers 2]   # import first (temp dir)

Prints, for the imported clips and for the HumanML3D reference clips (../shared/reference/humanml3d beside
the repo, or --reference), the measures of irgmotion.motion.quality on `new_joints`: foot skating (m/s of
a foot joint while on the ground), ground penetration (m), jitter (m/s^2), and the bone-length error
against HumanML3D's skeleton (largest |length - target|, m). Writes them to
benchmarks/results/import_quality.json and a contact sheet (one row per content label, 6 frames each,
left limbs blue, right red) to --sheet (default: DIR/contact_sheet.png, outside the repo: the Bandai clips
are CC BY-NC and stay out of it).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from irgmotion.motion.quality import foot_skating, ground_penetration, jitter
from irgmotion.motion.skeleton import HUMANML3D


def bone_length_error(j: np.ndarray) -> float:
    parents = list(HUMANML3D.parents[1:])
    lengths = np.linalg.norm(j[:, 1:] - j[:, parents], axis=-1)
    return float(np.abs(lengths - HUMANML3D.bone_lengths[1:]).max())


def measure(root: Path) -> tuple[dict, dict]:
    """Summary (mean, median, max of each measure) and the per-clip rows."""
    rows = {}
    for path in sorted((root / "new_joints").glob("*.npy")):
        j = np.load(path).astype(np.float64)
        rows[path.stem] = {"foot_skating": foot_skating(j), "ground_penetration": ground_penetration(j),
                           "jitter": jitter(j), "bone_length_error": bone_length_error(j)}
    keys = ("foot_skating", "ground_penetration", "jitter", "bone_length_error")
    summary = {"clips": len(rows)}
    for k in keys:
        v = np.array([r[k] for r in rows.values()])
        summary[k] = {"mean": float(v.mean()), "median": float(np.median(v)), "max": float(v.max())}
    return summary, rows


def by_content(root: Path, rows: dict) -> dict:
    """Mean foot skating and jitter per content label (when the import had labels)."""
    info = json.loads((root / "import.json").read_text())["clips"] if (root / "import.json").is_file() else {}
    groups: dict[str, list[str]] = {}
    for cid in rows:
        groups.setdefault(info.get(cid, {}).get("labels", {}).get("content", "(no label)"), []).append(cid)
    return {label: {"clips": len(ids), "foot_skating": float(np.mean([rows[i]["foot_skating"] for i in ids])),
                    "jitter": float(np.mean([rows[i]["jitter"] for i in ids]))} for label, ids in sorted(groups.items())}


def contact_sheet(root: Path, out_png: Path) -> list[str]:
    """One row per content label (the first clip of each, 'normal' style when there is one)."""
    from irgmotion.motion.render import render_contact_sheet
    info = json.loads((root / "import.json").read_text())["clips"]
    by_label: dict[str, str] = {}
    for cid in sorted(info, key=lambda c: (info[c]["labels"].get("style") != "normal", c)):
        by_label.setdefault(info[cid]["labels"].get("content", cid), cid)
    chosen = sorted(by_label.items())[:12]
    motions = [np.load(root / "new_joints" / f"{cid}.npy") for _, cid in chosen]
    titles = []
    for label, cid in chosen:
        caption = (root / "texts" / f"{cid}.txt").read_text().splitlines()[0].split("#")[0]
        titles.append(f"{label}  ({cid}): {caption}")
    render_contact_sheet(motions, titles, out_png, n_frames=6)
    _add_top_views(out_png, motions)
    return [cid for _, cid in chosen]


def _add_top_views(png: Path, motions: list[np.ndarray]) -> None:
    """Append a column of top views: the root path from the dot, the body first facing up (+Z), drawn
    so that the subject's left (+X) is on the left, as on a map read in the walking direction."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    sheet = Image.open(png)
    dpi, row_h = 80, sheet.height / len(motions)
    fig = Figure(figsize=(row_h * 0.9 / dpi, sheet.height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    for r, m in enumerate(motions):
        top = 1.0 - r / len(motions)
        ax = fig.add_axes((0.12, top - 0.93 / len(motions), 0.8, 0.78 / len(motions)))
        path = m[:, 0, [0, 2]]
        ax.plot(-path[:, 0], path[:, 1], color="#333333", lw=1.2)
        ax.plot([0], [0], "o", color="#333333", ms=4)
        for name, colour in (("left_wrist", "#1f5fa8"), ("right_wrist", "#b22222")):
            w = m[:, HUMANML3D.joint_names.index(name)][:, [0, 2]]
            ax.plot(-w[:, 0], w[:, 1], color=colour, lw=0.6, alpha=0.6)
        span = max(np.ptp(path, axis=0).max(), 1.0) / 2 + 0.3
        centre = (path.max(0) + path.min(0)) / 2
        ax.set_xlim(-centre[0] - span, -centre[0] + span)
        ax.set_ylim(centre[1] - span, centre[1] + span)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
        ax.set_title("top view (start: dot, facing up)", fontsize=7, pad=2)
    fig.savefig(png.with_suffix(".top.png"), dpi=dpi)
    top_view = Image.open(png.with_suffix(".top.png"))
    out = Image.new("RGB", (sheet.width + top_view.width, sheet.height), "white")
    out.paste(sheet.convert("RGB"), (0, 0))
    out.paste(top_view.convert("RGB"), (sheet.width, 0))
    out.save(png)
    png.with_suffix(".top.png").unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--imported", type=Path, help="a dataset written by `irgmotion data import-bvh`")
    src.add_argument("--src", type=Path, help="BVH file or directory to import first (into a temporary dir)")
    ap.add_argument("--rig", default="auto")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--reference", type=Path, default=REPO.parent / "shared" / "reference" / "humanml3d")
    ap.add_argument("--sheet", type=Path, default=None)
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results" / "import_quality.json")
    args = ap.parse_args()

    seconds = None
    if args.src is not None:
        from irgmotion.data.bvh_dataset import import_bvh
        root = Path(tempfile.mkdtemp(prefix="import_quality_")) / "imported"
        t0 = time.time()
        import_bvh(args.src, root, rig=args.rig, workers=args.workers, progress=True)
        seconds = time.time() - t0
    else:
        root = args.imported
    imported, rows = measure(root)
    reference, _ = measure(args.reference)
    print(f"{'measure (units: m/s, m, m/s^2, m)':<22}\n{'':<22}{'imported (mean / max)':>28}{'HumanML3D reference (mean / max)':>36}{'ratio of means':>16}")
    for k in ("foot_skating", "ground_penetration", "jitter", "bone_length_error"):
        a, b = imported[k], reference[k]
        ratio = a["mean"] / b["mean"] if b["mean"] > 0 else float("nan")
        print(f"{k:<22}{a['mean']:>16.3g} / {a['max']:<9.3g}{b['mean']:>24.3g} / {b['max']:<9.3g}{ratio:>16.2f}")
    print(f"imported clips: {imported['clips']}, reference clips: {reference['clips']}"
          + (f", import took {seconds:.1f}s" if seconds is not None else ""))
    _, ref_rows = measure(args.reference)
    print("reference clips: " + "; ".join(f"{k} foot skating {v['foot_skating']:.3f} m/s" for k, v in ref_rows.items()))
    groups = by_content(root, rows)
    print("per content label: " + "; ".join(f"{k} {v['foot_skating']:.3f} m/s" for k, v in groups.items()))
    sheet = args.sheet or root / "contact_sheet.png"
    shown = contact_sheet(root, sheet)
    print(f"contact sheet ({len(shown)} rows): {sheet}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps({"imported": imported, "reference": reference, "imported_by_content": groups, "import_seconds": seconds,
                                        "source": str(args.src or args.imported)}, indent=1) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
