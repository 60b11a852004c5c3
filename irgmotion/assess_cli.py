"""`irgmotion assess` and `irgmotion caption`: the model's single-step tasks on motion files, batched.

Every input (texts, motion files, the pairs file, --out) is checked before the bundle loads; a problem is one
line naming the file (and line) with exit code 2.
"""
from __future__ import annotations

import json
from pathlib import Path

from .cli import CLIError, _check_suffix, load_reasoner
from .cliargs import add_device_argument, add_perception_argument
from .reason.options import VERDICTS


def _motion(path: Path, where: str):
    """The features of a motion file (joints or features), or CLIError naming `where`."""
    from .api import motion_features
    from .motion.io import load_motion
    try:
        return motion_features(load_motion(path, "humanml3d").data, str(path))
    except ValueError as exc:  # MotionFileError included; its message names the file
        message = str(exc)
        raise CLIError(message if where == str(path) else f"{where}: {message}") from None


def read_pairs(path: str) -> list[tuple[int, str, str, Path]]:
    """(line, text, motion path as written, motion path) for each line of a pairs JSONL file; paths are relative
    to the file's folder."""
    from .reason.pipeline import PromptInputError, check_goal
    source = Path(path)
    if not source.is_file():
        raise CLIError(f"{source}: {'is a directory' if source.is_dir() else 'file not found'}; expected a JSONL file "
                       'of {"text": ..., "motion": "path.npy"} lines')
    try:
        lines = source.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CLIError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise CLIError(f"{source}: cannot read ({exc.strerror or type(exc).__name__})") from None
    pairs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{n}"
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CLIError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("motion"), str) or "text" not in doc:
            raise CLIError(f'{where}: expected an object {{"text": "...", "motion": "path.npy"}}')
        try:
            text = check_goal(doc["text"])
        except PromptInputError as exc:
            raise CLIError(f"{where}: {exc}") from None
        pairs.append((n, text, doc["motion"], source.parent / doc["motion"]))
    if not pairs:
        raise CLIError(f'{source}: no pairs (the file is empty); write one {{"text": ..., "motion": ...}} per line')
    return pairs


def _assessment_text(row: dict) -> str:
    level = row["level"]
    judged = f"{level} of 3, score {row['score']:.2f}; judged by the {row['verdict']}" if level is not None \
        else "none stated"
    lines = [f"{row['motion']}: {row['text']}", f"  level: {row['level_name'] or 'unknown'} ({judged})",
             f"  assessment: {row['assessment'] or '(none)'}", f"  refinement: {row['refinement'] or '(none)'}"]
    if row["similarity"]:
        sim = row["similarity"]
        lines.append(f"  evaluator ({sim['evaluator']}): distance {sim['distance']:.3f}, "
                     f"cosine similarity {sim['similarity']:.3f}")
    lines += [f"  warning: {w}" for w in row["warnings"]]
    return "\n".join(lines)


def cmd_assess(args) -> int:
    from .fileio import write_text
    if args.pairs is not None:
        if args.text is not None or args.motion is not None:
            raise CLIError("give either TEXT MOTION.npy or --pairs PAIRS.jsonl, not both")
        pairs = read_pairs(args.pairs)
    else:
        if args.text is None or args.motion is None:
            raise CLIError("give TEXT and MOTION.npy, e.g. irgmotion assess \"a person jumps\" jump.npy, "
                           "or --pairs PAIRS.jsonl")
        from .reason.pipeline import PromptInputError, check_goal
        try:
            pairs = [(0, check_goal(args.text), args.motion, Path(args.motion))]
        except PromptInputError as exc:
            raise CLIError(str(exc)) from None
    out = _check_suffix(args.out, (".jsonl",)) if args.out else None
    feats, notes = [], []
    for n, _, _, path in pairs:
        f, w = _motion(path, f"{args.pairs}:{n}" if n else str(path))
        feats.append(f)
        notes.append(w)
    reasoner = load_reasoner(args.bundle, args.verdict, device=args.device, perception=args.perception)
    texts = [text for _, text, _, _ in pairs]
    rows = reasoner.assess(texts, feats)
    similarity = reasoner.similarity(texts, feats) or [None] * len(rows)
    records = []
    for (n, _, given, _), row, sim in zip(pairs, rows, similarity):
        records.append({"text": row["text"], "motion": given, **({"line": n} if n else {}), "level": row["level"],
                        "level_name": row["level_name"], "score": row["score"], "assessment": row["assessment"],
                        "refinement": row["refinement"], "verdict": row["verdict"], "similarity": sim,
                        "warnings": row["warnings"]})
    if out is not None:
        write_text(out, "".join(json.dumps(r) + "\n" for r in records))
    for r in records:
        print(json.dumps(r) if args.json else _assessment_text(r))
    if out is not None:
        print(f"wrote {out}: {len(records)} assessment(s)")
    return 0


def cmd_caption(args) -> int:
    feats = [_motion(Path(p), p)[0] for p in args.motions]
    rows = load_reasoner(args.bundle, None, device=args.device).caption(feats, details=True)
    for path, row in zip(args.motions, rows):
        if args.json:
            print(json.dumps({"motion": path, **row}))
        else:
            print(f"{path}: {row['caption'] or '(no caption)'}")
            for w in row["warnings"]:
                print(f"  warning: {w}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("assess", help="how well a motion fits a text: the model's assessment, level and refinement")
    p.add_argument("text", nargs="?", default=None, help="the goal text")
    p.add_argument("motion", nargs="?", default=None, help="a .npy motion: joints (T, 22, 3) or features (T, 263)")
    p.add_argument("--pairs", default=None, metavar="PAIRS.jsonl",
                   help='many pairs, one {"text": ..., "motion": "path.npy"} per line (paths relative to the file)')
    p.add_argument("--out", default=None, metavar="OUT.jsonl", help="also write the results as JSON lines")
    p.add_argument("--json", action="store_true", help="print one JSON object per pair")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    p.add_argument("--verdict", choices=VERDICTS, default=None,
                   help="rule (default where the bundle allows it): the level and refinement follow from the model's "
                        "two descriptions by the engine's rule; model: the model's own verdict and instruction")
    add_perception_argument(p)
    add_device_argument(p)
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("caption", help="describe motions in one line of text each")
    p.add_argument("motions", nargs="+", metavar="MOTION.npy", help="joints (T, 22, 3) or features (T, 263)")
    p.add_argument("--json", action="store_true", help="print one JSON object per motion")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    add_device_argument(p)
    p.set_defaults(func=cmd_caption)
