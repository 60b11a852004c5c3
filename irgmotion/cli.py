"""The `irgmotion` command line: thin shells over the library layers.

Every command prints one clear line and exits with status 2 on bad input,
and writes outputs atomically so a failure leaves no partial file.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from .fileio import save_npy
from .cliargs import (  # noqa: F401 (CLIError and EXIT_BAD_INPUT are part of this module's API)
    EXIT_BAD_INPUT,
    CLIError,
    OneLineParser,
    add_device_argument,
    add_perception_argument,
    nonnegative_float,
    port,
    positive_float,
    positive_int,
    run_parser,
    seed,
    studio_rounds,
)
from .reason.options import DEFAULT_SELECT, SELECTIONS, VERDICTS


def _load(path: str, dataset: str | None):
    from .motion.io import MotionFileError, load_motion
    try:
        return load_motion(path, dataset)
    except MotionFileError as exc:
        raise CLIError(str(exc)) from None


def _check_suffix(path: str, allowed: tuple[str, ...]) -> Path:
    """The output path, checked before any work: its suffix, and that a file can be written there."""
    from .fileio import OutputPathError, check_output_path
    out = Path(path)
    if out.suffix.lower() not in allowed:
        raise CLIError(f"{out}: output must end in one of {', '.join(allowed)}")
    try:
        return check_output_path(out)
    except OutputPathError as exc:
        raise CLIError(str(exc)) from None


def cmd_convert(args) -> int:
    import os

    from .motion.io import MotionFileError, check_finite_result
    out = _check_suffix(args.output, (".npy",))
    if out.exists() and Path(args.input).exists() and os.path.samefile(args.input, out):
        raise CLIError(f"{out}: is the input file; choose another output path (convert never overwrites its input)")
    motion = _load(args.input, args.dataset)
    if args.to == motion.kind:
        raise CLIError(f"{args.input}: already {motion.kind} of shape {motion.data.shape}")
    if args.to == "features" and len(motion.data) < 2:
        raise CLIError(f"{args.input}: need at least 2 frames of joints to compute features")
    # KIT-ML joints are natively in millimetres; the conversion itself does not depend on the unit.
    allow_mm = motion.skeleton.name == "kit"
    try:
        if args.to == "features":
            motion.checked_joints(allow_millimetres=allow_mm)  # refuses all-zero joints, zero-length bones, 1e30
            with np.errstate(all="ignore"):
                result = motion.features()
        else:
            result = motion.checked_joints(allow_millimetres=allow_mm)
        result = check_finite_result(result, args.input, args.to)
    except MotionFileError as exc:
        raise CLIError(str(exc)) from None
    save_npy(out, result.astype(np.float32))
    print(f"wrote {out}: {args.to} {tuple(result.shape)} ({motion.skeleton.name})")
    return 0


def cmd_render(args) -> int:
    from .motion.render import render_motions
    out = _check_suffix(args.output, (".gif", ".mp4"))
    paths = [args.input] + list(args.compare or [])
    if args.fps is not None and not (np.isfinite(args.fps) and 0 < args.fps <= 1000):
        raise CLIError(f"--fps must be a positive number up to 1000, got {args.fps}")
    motions = [_load(p, args.dataset) for p in paths]
    specs = {m.skeleton.name for m in motions}
    if len(specs) > 1:
        raise CLIError(f"cannot put different skeletons side by side: {', '.join(sorted(specs))}")
    titles = list(args.titles) if args.titles else [args.title or Path(paths[0]).stem] + [Path(p).stem for p in paths[1:]]
    if len(titles) != len(motions):
        raise CLIError(f"--titles gives {len(titles)} title(s) for {len(motions)} motion(s)")
    spec = motions[0].skeleton
    from .motion.io import MotionFileError
    try:
        joints = [m.checked_joints() for m in motions]  # refuses millimetres or 1e30 before drawing anything
    except MotionFileError as exc:
        raise CLIError(str(exc)) from None
    render_motions(joints, out, titles=titles, fps=args.fps or spec.fps, skeleton=spec)
    print(f"wrote {out}")
    return 0


def cmd_export(args) -> int:
    from .motion.bvh import joints_to_bvh
    out = _check_suffix(args.output, (".bvh",))
    if args.fps is not None and not (np.isfinite(args.fps) and 0 < args.fps <= 1000):
        raise CLIError(f"--fps must be a positive number up to 1000, got {args.fps}")
    from .motion.io import MotionFileError
    motion = _load(args.input, args.dataset)
    try:
        joints = motion.checked_joints()
    except MotionFileError as exc:
        raise CLIError(str(exc)) from None
    joints_to_bvh(joints, out, skeleton=motion.skeleton, fps=args.fps)
    print(f"wrote {out}")
    return 0


def _generate_replaceable(out: Path, marker: str = "trace.json") -> bool:
    """An existing --out folder that generate may replace whole: empty, or a previous output (holds `marker`:
    trace.json for one goal, index.jsonl for --prompts)."""
    try:
        return (out / marker).is_file() or next(out.iterdir(), None) is None
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot read ({exc.strerror or type(exc).__name__})") from None


def _generate_destination(path: str, overwrite: bool, marker: str = "trace.json") -> Path:
    """The --out folder, checked before any work: not a file, not the working directory or above it, not a
    folder of other files (unless --overwrite), and a writable (or creatable) parent."""
    import os

    from .fileio import OutputPathError, _check_writable_dir, _nearest_existing
    if not str(path).strip():
        raise CLIError("--out is empty; name the output folder")
    out = Path(path)
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise CLIError(f"--out {path}: is the working directory or one above it; name a folder of its own")
    if os.path.lexists(out):
        if not out.is_dir():
            raise CLIError(f"--out {path}: exists and is not a directory")
        if not overwrite and not _generate_replaceable(out, marker):
            raise CLIError(f"--out {path}: exists and holds files that are not an irgmotion generate output "
                           f"(no {marker}); pass --overwrite to replace it, or choose another folder")
    try:
        _check_writable_dir(_nearest_existing(out.parent), out)
    except OutputPathError as exc:
        raise CLIError(f"--out {exc}") from None
    return out


def _publish_folder(tmp: Path, out: Path, overwrite: bool, marker: str = "trace.json") -> None:
    """Move the finished folder `tmp` to `out` in one rename, replacing a previous output there whole."""
    import os
    import shutil
    import tempfile
    old = None
    if os.path.lexists(out):
        if not overwrite and not _generate_replaceable(out, marker):  # something wrote there while we generated
            raise CLIError(f"--out {out}: files that are not an irgmotion output appeared there meanwhile; "
                           "pass --overwrite to replace them")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / out.name)
    try:
        os.rename(tmp, out)
    except OSError:
        if old is not None:  # put the previous output back
            os.rename(old / out.name, out)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_output_folder(out: Path, overwrite: bool, fill, marker: str = "trace.json"):
    """Run `fill(folder)` on a temporary sibling of `out`, then move it into place in one rename: --out always holds
    one consistent run (no stale files of an earlier run, nothing half-written). Returns what `fill` returns."""
    import os
    import shutil
    import tempfile
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; give the folder the usual permissions
        result = fill(tmp)
        _publish_folder(tmp, out, overwrite, marker)
        return result
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_generation(folder: Path, motion, render: str | None) -> list[str]:
    """One goal's files (`Motion.write_folder`) in `folder`; a failing video writer becomes one clear line."""
    try:
        return motion.write_folder(folder, render)
    except (RuntimeError, ValueError) as exc:  # e.g. the ffmpeg writer failing mid-file
        raise CLIError(f"--format {render}: rendering rounds.{render} failed ({' '.join(str(exc).split())[:200]}); "
                       "try --format gif or --no-render") from None


def load_reasoner(bundle_dir: str | None, verdict: str | None, select: str | None = None, device: str = "cpu",
                  perception: str | None = None):
    """The API object over a bundle, for a command: a bad bundle or a verdict it cannot take is one clear line.
    `device`: a resolved device string (the --device flag resolves it while the arguments are parsed)."""
    from .api import MotionReasoner
    from .reason.bundle import BundleError, load_bundle
    from .reason.pipeline import RULE_STYLES
    try:
        bundle = load_bundle(bundle_dir, device=device)
    except BundleError as exc:
        raise CLIError(str(exc)) from None
    if verdict == "rule" and bundle.assessment_style not in RULE_STYLES:
        raise CLIError(f"--verdict rule needs a bundle whose assessments are in the {' or '.join(RULE_STYLES)} style; "
                       f"{bundle.root / 'manifest.json'} records {bundle.assessment_style!r}; use --verdict model")
    try:
        return MotionReasoner(bundle, verdict, select, perception=perception)
    except ValueError as exc:  # --perception describer on a bundle without one, or under the model's verdict
        raise CLIError(f"--perception {perception}: {exc}") from None


def _check_generate_flags(args) -> None:
    """generate's numbers and --format, checked before the bundle loads (seconds) and generation runs (minutes)."""
    if args.max_rounds < 1:
        raise CLIError(f"--max-rounds must be at least 1, got {args.max_rounds}")
    if args.max_new_tokens < 1:
        raise CLIError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise CLIError(f"--temperature must be a positive number, got {args.temperature}")
    if not 0 <= args.seed <= 2**32 - 1:
        raise CLIError(f"--seed must be between 0 and {2**32 - 1}, got {args.seed}")
    if args.format == "mp4" and not args.no_render:
        from .motion.render import mp4_available
        if not mp4_available():
            raise CLIError("--format mp4 needs ffmpeg from the imageio-ffmpeg package (pip install imageio-ffmpeg), "
                           "which is unavailable; use --format gif or --no-render")


def cmd_generate(args) -> int:
    from .reason.pipeline import PromptInputError, check_goal
    if args.prompts is not None:
        if args.text is not None:
            raise CLIError("give either a goal text or --prompts FILE, not both")
        return _generate_batch(args)
    if args.text is None:
        raise CLIError("give the goal text, e.g. irgmotion generate \"a person jumps twice\", or --prompts FILE")
    # Everything the user passed is checked before the bundle loads (seconds) and generation runs (minutes).
    try:
        goal = check_goal(args.text)
    except PromptInputError as exc:
        raise CLIError(str(exc)) from None
    _check_generate_flags(args)
    overwrite = getattr(args, "overwrite", False)
    out = _generate_destination(args.out, overwrite)
    reasoner = load_reasoner(args.bundle, args.verdict, args.select, args.device, args.perception)
    motion = reasoner.generate(goal, max_rounds=args.max_rounds, sample=args.sample, seed=args.seed,
                               temperature=args.temperature, max_new_tokens=args.max_new_tokens)
    print(f"Goal: {goal}")
    print(f"Analysis: {motion.analysis or '(none)'}")
    for k, r in enumerate(motion.rounds, 1):
        size = f"{len(r.tokens)} tokens, {len(r.features)} frames" if r.tokens else "no motion"
        print(f"Round {k}: generated {size}")
        if r.assessment:
            print(f"  Assessment: {r.assessment}")
        if r.refinement:
            print(f"  Refinement: {r.refinement}")
    for w in motion.warnings:
        print(f"warning: {w}")
    if motion.joints is None:
        raise CLIError("the model produced no motion; try --sample with another --seed")
    render = None if args.no_render else args.format
    _write_output_folder(out, overwrite, lambda tmp: _write_generation(tmp, motion, render))
    print(f"Final motion: round {motion.answer_round + 1} of {len(motion.rounds)} ({args.select}), "
          f"{len(motion.joints)} frames; reasoning took {motion.seconds:.2f} s")
    print(f"wrote {out}/: final_features.npy, final_joints.npy, final.bvh, trace.json"
          + ("" if render is None else f", rounds.{render}"))
    return 0


def _generate_batch(args) -> int:
    """generate --prompts FILE: every goal in one batched decoding call (one per distinct max_rounds, or seed with
    --sample), then --out/0001, 0002, ... (each as one goal's --out) and --out/index.jsonl, published together."""
    import json

    from .fileio import write_text
    from .prompts import PromptFileError, read_prompts
    try:
        prompts = read_prompts(args.prompts)
    except PromptFileError as exc:
        raise CLIError(str(exc)) from None
    _check_generate_flags(args)
    overwrite = getattr(args, "overwrite", False)
    out = _generate_destination(args.out, overwrite, marker="index.jsonl")
    reasoner = load_reasoner(args.bundle, args.verdict, args.select, args.device, args.perception)
    if not args.sample and any(p.seed is not None for p in prompts):
        print(f"note: {args.prompts} gives seeds; they apply with --sample only (decoding is greedy)")
    motions = reasoner.generate([p.text for p in prompts], sample=args.sample,
                                max_rounds=[p.max_rounds or args.max_rounds for p in prompts],
                                seed=[args.seed if p.seed is None else p.seed for p in prompts],
                                temperature=args.temperature, max_new_tokens=args.max_new_tokens)
    width = max(4, len(str(len(prompts))))
    render = None if args.no_render else args.format

    def fill(folder: Path) -> list[dict]:
        index = []
        for k, (prompt, motion) in enumerate(zip(prompts, motions), 1):
            name = f"{k:0{width}d}"
            (folder / name).mkdir()
            files = _write_generation(folder / name, motion, render)
            index.append({"folder": name, "line": prompt.line, "goal": motion.goal,
                          "answer_round": None if motion.answer_round is None else motion.answer_round + 1,
                          "n_generations": sum(r.tokens is not None for r in motion.rounds),
                          "frames": 0 if motion.joints is None else len(motion.joints),
                          "files": files, "warnings": motion.warnings})
        write_text(folder / "index.jsonl", "".join(json.dumps(row) + "\n" for row in index))
        return index

    index = _write_output_folder(out, overwrite, fill, marker="index.jsonl")
    for row in index:
        made = (f"round {row['answer_round']} of {row['n_generations']}, {row['frames']} frames"
                if row["frames"] else "no motion")
        print(f"{row['folder']}: {made}: {row['goal'][:70]}")
        for w in row["warnings"]:
            print(f"  warning: {w}")
    seconds = sum({m.seconds for m in motions})  # one time per batched call
    print(f"wrote {out}/: {len(index)} folders and index.jsonl; reasoning took {seconds:.2f} s")
    return 0


def cmd_serve(args) -> int:
    """The web studio: one loaded model behind a local HTTP server (irgmotion.app)."""
    import ipaddress
    import socket

    from .app import MissingExtras, require_extras
    try:
        require_extras()
    except MissingExtras as exc:
        raise CLIError(str(exc)) from None
    from .app.server import bind, serve
    try:
        sock = bind(args.host, args.port)
    except socket.gaierror as exc:
        raise CLIError(f"--host {args.host[:60]}: not a host name or address this machine knows "
                       f"({exc.strerror})") from None
    except OSError as exc:
        import errno
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CLIError(f"--host {args.host[:60]}: not an address of this machine ({exc.strerror})") from None
        raise CLIError(f"--port {args.port}: cannot listen on {args.host[:60]}:{args.port} "
                       f"({exc.strerror or type(exc).__name__})") from None
    try:
        if not ipaddress.ip_address(sock.getsockname()[0]).is_loopback:
            print(f"warning: --host {args.host} listens beyond this machine; the studio has no authentication",
                  file=sys.stderr)
        reasoner = load_reasoner(args.bundle, args.verdict, args.select, args.device, args.perception)
        reasoner.max_rounds = args.max_rounds
        serve(reasoner, sock, warmup=not args.no_warmup, batch_window=args.batch_window_ms / 1000,
              timeout=args.timeout, max_results=args.max_results)
    finally:
        sock.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="irgmotion", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    datasets = ("humanml3d", "kit")

    p = sub.add_parser("convert", help="joints <-> features (kind detected from the shape)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--to", choices=("joints", "features"), required=True)
    p.add_argument("--dataset", choices=datasets, default=None, help="skeleton (default: from the shape)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("render", help="3-D stick-figure animation to .gif or .mp4")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--title", default=None)
    p.add_argument("--compare", nargs="+", default=None, metavar="B.npy", help="more motions side by side")
    p.add_argument("--titles", nargs="+", default=None, help="one title per motion (with --compare)")
    p.add_argument("--fps", type=positive_float, default=None)
    p.add_argument("--dataset", choices=datasets, default=None)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="write a BVH file")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--fps", type=positive_float, default=None)
    p.add_argument("--dataset", choices=datasets, default=None)
    p.set_defaults(func=cmd_export)

    from .data.cli import add_parsers as add_data_parsers
    add_data_parsers(sub)

    p = sub.add_parser("generate", help="text -> motion through interleaved generation, assessment and refinement")
    p.add_argument("text", nargs="?", default=None,
                   help="the goal, e.g. \"a person walks forward and waves the right hand\"")
    p.add_argument("--prompts", default=None, metavar="FILE",
                   help="many goals, decoded in one batched call: text lines, or JSONL lines {\"text\": ..., optional "
                        "\"seed\", \"max_rounds\"}; writes --out/0001, 0002, ... and --out/index.jsonl")
    p.add_argument("--out", default="irgmotion_out")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--temperature", type=positive_float, default=1.0)
    p.add_argument("--max-rounds", type=positive_int, default=6, help="cap on generated motions")
    p.add_argument("--max-new-tokens", type=positive_int, default=1400)
    p.add_argument("--verdict", choices=VERDICTS, default=None,
                   help="rule (the default where the bundle's assessment style allows it): the model describes the goal "
                        "and the motion, the engine's rule judges those two descriptions, so the verdict follows what "
                        "the model saw; model: the model judges too")
    p.add_argument("--select", choices=SELECTIONS, default=DEFAULT_SELECT,
                   help="the answer: best-earliest (default) = the round with the best assessed level, ties to the "
                        "earliest; best = ties to the latest; last = the last motion")
    add_perception_argument(p)
    p.add_argument("--format", choices=("gif", "mp4"), default="gif")
    p.add_argument("--no-render", action="store_true")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even when it holds files that are not a previous generate output "
                        "(an empty folder or a previous output, with its trace.json, is always replaced whole)")
    add_device_argument(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("serve", help="the web studio: generate, watch, steer and download motions in a browser")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=port, default=8000, help="port (0: any free one)")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    p.add_argument("--verdict", choices=VERDICTS, default=None, help="as for generate")
    p.add_argument("--select", choices=SELECTIONS, default=DEFAULT_SELECT, help="as for generate")
    add_perception_argument(p)
    p.add_argument("--max-rounds", type=studio_rounds, default=3,
                   help="generations per goal when a request names none (at most 10, as a request may ask)")
    p.add_argument("--timeout", type=positive_float, default=120.0, help="seconds a request may take, queue included")
    p.add_argument("--batch-window-ms", type=nonnegative_float, default=50.0,
                   help="goals arriving this close together are decoded in one batched call")
    p.add_argument("--max-results", type=positive_int, default=256, help="results kept in memory (oldest dropped)")
    p.add_argument("--no-warmup", action="store_true", help="skip the first short generation at start")
    add_device_argument(p)
    p.set_defaults(func=cmd_serve)

    from .assess_cli import add_parsers as add_assess_parsers
    add_assess_parsers(sub)
    from .chat_cli import add_parsers as add_chat_parsers
    add_chat_parsers(sub)

    from .engine.cli import add_parsers as add_engine_parsers
    from .tokenizer.cli import add_parsers as add_tokenizer_parsers
    from .train.cli import add_parsers as add_train_parsers
    add_tokenizer_parsers(sub)
    add_engine_parsers(sub)
    add_train_parsers(sub)
    from .perception.cli import add_parsers as add_perception_parsers
    add_perception_parsers(sub)
    from .bench.commands import add_parsers as add_bench_parsers
    add_bench_parsers(sub)
    from .pipeline import add_parsers as add_pipeline_parsers
    add_pipeline_parsers(sub)

    from .evaluator.cli import add_parsers as add_evaluator_parsers
    add_evaluator_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_parser(build_parser(), argv)


# Commands that end as soon as their work is written (entry()): each writes its files atomically and closes them, and
# starts no thread or process of its own.
QUICK_EXIT_COMMANDS = ("generate", "assess", "caption", "render")


def entry() -> None:
    """The command line (`irgmotion`, `python -m irgmotion`): main(), then the exit.

    Python's teardown after `import torch` (its modules' and native libraries' finalisation) takes about half a second
    on two cores, after the command's work is done (benchmarks/cli_latency.py). The quick commands skip it: the
    standard streams are flushed and the atexit handlers run, then the process ends. Any other command, or one that
    left a thread running, exits the usual way."""
    import atexit
    import os
    import threading
    code = main()
    quick = next((a for a in sys.argv[1:] if not a.startswith("-")), None) in QUICK_EXIT_COMMANDS
    if not quick or any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging's flush, temporary directories' cleanup
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away (`| head`) before the buffered output reached it
            code = code or 141
        except (OSError, ValueError):  # a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
