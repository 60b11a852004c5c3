"""`irgmotion chat`: a terminal conversation over `irgmotion.session.ChatSession`.

The user gives a goal; the model's rounds are shown; then each line is an instruction in the user's own words
("jump higher", "use the left hand instead"), applied to the current motion and assessed again, or a command:
undo, rounds, save PATH, new GOAL, help, quit. Lines come from the terminal or from piped stdin (then each is
echoed after the prompt, so the output reads as a transcript). The session is saved after every turn to --session
FILE, which resumes the conversation when it exists.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .cli import CLIError, load_reasoner
from .cliargs import add_device_argument, add_perception_argument
from .reason.options import VERDICTS

HELP = """commands:
  new GOAL     start over with a new goal (the first line you type is the goal)
  undo         go back to the motion before the last turn
  rounds       show the rounds of the current goal and every instruction since
  save PATH    write the current motion: .npy (joints), .bvh, .gif or .mp4
  help         this list
  quit         end (the session is saved after every turn)
anything else is an instruction in your own words, e.g. "jump higher", "use the left hand instead", "slower",
"take more steps", "turn the other way", "also clap", "don't wave\""""

_LEVELS = ("poor", "partial", "close", "perfect")


def _level(level) -> str:
    return "none stated" if level is None else f"{_LEVELS[level]} ({level} of 3)"


def show_goal_turn(turn, out) -> None:
    out(f"Goal: {turn.goal}")
    out(f"Analysis: {turn.analysis or '(none)'}")
    for k, r in enumerate(turn.rounds, 1):
        out(f"Round {k}: " + (f"generated {len(r.tokens)} motion tokens" if r.tokens else "no motion"))
        if r.assessment:
            out(f"  Assessment: {r.assessment}")
        if r.refinement:
            out(f"  Refinement: {r.refinement}")
    if turn.answer_round is not None:
        out(f"Answer: round {turn.answer_round + 1} of {len(turn.rounds)}, level {_level(turn.level)}")
    for w in turn.warnings:
        out(f"warning: {w}")


def show_instruction_turn(turn, out) -> None:
    if turn.edits:
        out(f"Read as: {'; '.join(turn.edits)}")
    from .api import applied_without_model
    why = applied_without_model(turn.canonical)  # a pace or a mirror: steer edits the motion itself
    if why:
        out(f"Applied without the model ({why}): {turn.canonical}")
    else:
        out(f"Told the model: {turn.canonical}")
    out(f"Goal now: {turn.goal}")
    size = f"{len(turn.tokens)} motion tokens" if turn.tokens else "no motion"
    out(f"{'Edited' if why else 'Refined'} motion: {size}")
    out(f"  Assessment: {turn.assessment or '(none)'}")
    out(f"  Level: {_level(turn.level)}")
    if turn.refinement:
        out(f"  Refinement: {turn.refinement}")
    for w in turn.warnings:
        out(f"warning: {w}")


def show_rounds(session, out) -> None:
    start = max((i for i, t in enumerate(session.turns) if t.kind == "goal"), default=None)
    if start is None:
        out("no goal yet")
        return
    show_goal_turn(session.turns[start], out)
    for n, t in enumerate(session.turns[start + 1:], 1):
        out(f"Instruction {n}: {t.text!r} -> {t.canonical!r}; goal: {t.goal}; level {_level(t.level)}")


def _status(session, out) -> None:
    cur = session.current
    if cur is None:
        out("no goal yet: type a goal, e.g. \"a person jumps twice\"")
    else:
        out(f"current goal: {cur.goal} (level {_level(cur.level)}; {len(session.turns)} turn(s))")


def run_session(session, read, out=print, echo: bool = False, prompt: str = "> ", first: str | None = None) -> int:
    """Answer lines from `read()` (None at the end) until quit or the end; `first` is handled before them. With
    `echo`, each line is printed after the prompt (piped input reads as a transcript). Returns 0."""
    from .reason.pipeline import PromptInputError, check_goal
    while True:
        if first is not None:
            line, first = first, None
            out(f"{prompt}{line}")
        else:
            line = read()
            if line is None:
                break
            if echo:  # control characters and bytes that were not UTF-8 are shown escaped (and refused below)
                shown = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else repr(c)[1:-1]
                                for c in line.rstrip("\r\n"))
                out(f"{prompt}{shown}")
        text = " ".join(line.split())
        word, _, rest = text.partition(" ")
        command = word.lower()
        try:
            if not text:
                out("(empty line: type an instruction, a goal, or help)")
            elif command in ("quit", "exit", "q"):
                break
            elif command in ("help", "?"):
                out(HELP)
            elif command == "undo":
                cur = session.undo()
                out("undone; " + ("no goal now" if cur is None else f"back to: {cur.goal} (level {_level(cur.level)})"))
            elif command == "rounds":
                show_rounds(session, out)
            elif command == "save":
                if not rest:
                    out("save needs a path, e.g. save motion.bvh (.npy, .bvh, .gif or .mp4)")
                else:
                    out(f"wrote {session.save_motion(_checked_path(rest))}")
            elif command == "new" or session.current is None or session.current.tokens is None:
                goal = check_goal(rest if command == "new" else text)
                show_goal_turn(session.new_goal(goal), out)
            else:
                show_instruction_turn(session.instruct(text), out)
        except (ValueError, PromptInputError, CLIError) as exc:
            out(f"error: {exc}")
        except (OSError, RuntimeError) as exc:  # a file that could not be written (a full disk, no ffmpeg for .mp4)
            out(f"error: {' '.join(str(exc).split())[:300] or type(exc).__name__}")
    if session.path is not None and session.turns:
        out(f"session saved to {session.path} ({len(session.turns)} turn(s))")
    return 0


def _checked_path(text: str) -> Path:
    from .fileio import OutputPathError, check_output_path
    path = Path(text)
    if path.suffix.lower() not in (".npy", ".bvh", ".gif", ".mp4"):
        raise ValueError(f"{path}: unknown suffix; use .npy (joints), .bvh, .gif or .mp4")
    try:
        return check_output_path(path)
    except OutputPathError as exc:
        raise ValueError(str(exc)) from None


def cmd_chat(args) -> int:
    from .fileio import OutputPathError, check_output_path
    from .reason.pipeline import PromptInputError, check_goal
    from .session import ChatSession, SessionFileError, read_session
    goal = None
    if args.goal is not None:
        try:
            goal = check_goal(args.goal)
        except PromptInputError as exc:
            raise CLIError(str(exc)) from None
    resume = False
    if args.session is not None:
        path = Path(args.session)
        if path.exists():
            try:
                read_session(path)  # the file's shape, before the bundle loads
            except SessionFileError as exc:
                raise CLIError(f"--session {exc}") from None
            resume = True
        else:
            if path.suffix.lower() != ".json":
                raise CLIError(f"--session {path}: a new session file must end in .json")
            try:
                check_output_path(path)
            except OutputPathError as exc:
                raise CLIError(f"--session {exc}") from None
    reasoner = load_reasoner(args.bundle, args.verdict, device=args.device, perception=args.perception)
    if resume:
        try:
            session = ChatSession.load(reasoner, args.session)
        except SessionFileError as exc:
            raise CLIError(f"--session {exc}") from None
        print(f"resumed {args.session}: {len(session.turns)} turn(s)")
        if session.current is not None:
            _status(session, print)
    else:
        session = ChatSession(reasoner, args.session)
    echo = not sys.stdin.isatty()
    if hasattr(sys.stdin, "reconfigure"):  # a line that is not UTF-8 reaches check_goal, which names the byte
        sys.stdin.reconfigure(errors="surrogateescape")
    if not echo:
        print("irgmotion chat: type a goal, then instructions in your own words; help lists the commands")
    return run_session(session, _reader(echo), echo=echo, first=None if goal is None else f"new {goal}")


def _reader(piped: bool):
    """The next line of stdin, or None at its end (a prompt first when it is a terminal)."""
    def read():
        if piped:
            line = sys.stdin.readline()
            return line or None
        try:
            return input("> ")
        except EOFError:
            print()
            return None
    return read


def add_parsers(sub) -> None:
    p = sub.add_parser("chat", help="a conversation: a goal, the model's rounds, then your own instructions "
                                    "(\"jump higher\"), each refining the current motion")
    p.add_argument("goal", nargs="?", default=None, help="the first goal (else type it)")
    p.add_argument("--session", default=None, metavar="FILE.json",
                   help="save the conversation here after every turn; resume it when the file exists")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    p.add_argument("--verdict", choices=VERDICTS, default=None,
                   help="rule (default where the bundle allows it) or model, as for generate")
    add_perception_argument(p)
    add_device_argument(p)
    p.set_defaults(func=cmd_chat)
