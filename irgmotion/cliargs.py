"""Argument types and the parser class of the command line: a bad flag is refused while the arguments are
parsed, before any work, with one line naming the flag (argparse prints "argument --X: <message>")."""
from __future__ import annotations

import argparse
import math
import sys

MAX_SEED = 2**32 - 1  # numpy and torch seeds


EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`error: irgmotion train: argument --lr: ...`), exit 2."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message.splitlines()[0] if message else 'bad arguments'}", file=sys.stderr)
        raise SystemExit(2)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text[:40]!r}")
    return value


def _typed(parse, accept, requirement: str, name: str):
    """An argparse type: `parse` the text, then keep it only if `accept(value)`, else say `requirement`."""
    def check(text: str):
        value = parse(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{requirement}, got {text[:40]}")
        return value
    check.__name__ = name
    return check


positive_int = _typed(_int, lambda v: v >= 1, "must be at least 1", "positive_int")
nonnegative_int = _typed(_int, lambda v: v >= 0, "must be 0 or more", "nonnegative_int")
seed = _typed(_int, lambda v: 0 <= v <= MAX_SEED, f"must be between 0 and {MAX_SEED}", "seed")
positive_float = _typed(_float, lambda v: v > 0, "must be a positive number", "positive_float")
nonnegative_float = _typed(_float, lambda v: v >= 0, "must be 0 or more", "nonnegative_float")
fraction = _typed(_float, lambda v: 0 <= v < 1, "must be in [0, 1)", "fraction")


# The commands that share their work across the processes of `accelerate launch` (irgmotion/distributed.py). The
# others, launched on N processes, would run N times and race on the same output files.
LAUNCHED_COMMANDS = ("train-vq", "train-evaluator", "train", "bench", "eval")


def launch_error(command: str | None) -> str | None:
    """One line refusing a command launched on several processes (WORLD_SIZE > 1) that runs in one, else None.
    Read from the environment, so that it is checked before torch is imported."""
    import os
    world = os.environ.get("WORLD_SIZE", "1").strip()
    if command is None or command in LAUNCHED_COMMANDS or not world.isdigit() or int(world) <= 1:
        return None
    return (f"irgmotion {command} runs in one process, but this is a launch of {world} (WORLD_SIZE={world}); run "
            f"it without accelerate launch (only {', '.join(LAUNCHED_COMMANDS)} share work across processes)")


def run_parser(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen command: its exit code; bad input is one printed line and exit 2."""
    import sys

    from .tokenizer.cli import UsageError as TokenizerUsageError
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, one line printed): a return code, as for every error
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    refused = launch_error(getattr(args, "command", None))
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except (CLIError, TokenizerUsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly, as Unix tools do
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes it
        return 141


port = _typed(_int, lambda v: 0 <= v <= 65535, "must be between 0 and 65535", "port")
# irgmotion serve: the generations one request may ask for (irgmotion.app.server.MAX_ROUNDS_LIMIT)
STUDIO_MAX_ROUNDS = 10
studio_rounds = _typed(_int, lambda v: 1 <= v <= STUDIO_MAX_ROUNDS, f"must be between 1 and {STUDIO_MAX_ROUNDS}",
                       "studio_rounds")


def device(text: str) -> str:
    """--device: auto, cpu, cuda (cuda:N) or mps, resolved here, so that a device this machine lacks is refused
    while the arguments are parsed (one line, exit 2), before any model loads."""
    from .devices import DeviceError, resolve_device
    try:
        return resolve_device(text)
    except DeviceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_perception_argument(parser: argparse.ArgumentParser) -> None:
    """The one `--perception` flag of the commands that judge motions (args.perception: None = the bundle's default)."""
    from .reason.options import PERCEPTIONS
    parser.add_argument("--perception", choices=PERCEPTIONS, default=None,
                        help="under the rule verdict, who writes what each motion shows: describer (default where the "
                             "bundle has one: a model trained on that one task) or model (the LLM itself)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """The one `--device` flag every command that runs a model takes (args.device: the resolved device string)."""
    parser.add_argument("--device", type=device, default="auto", metavar="{auto,cpu,cuda,mps}",
                        help="where the models run: auto (default) = cuda when a CUDA GPU is visible, else mps, "
                             "else cpu; on cuda the LLM runs in bf16 where the GPU supports it, on the CPU in float32")
