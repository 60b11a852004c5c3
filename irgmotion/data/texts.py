"""HumanML3D caption lines: `caption#word/POS word/POS ...#start#end`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TextEntry:
    caption: str
    tokens: tuple[str, ...]  # "word/POS" pairs, words lemmatised as in the dataset
    start: float = 0.0  # seconds; 0,0 means the whole clip
    end: float = 0.0

    @property
    def words(self) -> list[str]:
        return [t.rsplit("/", 1)[0] for t in self.tokens]

    @property
    def pos(self) -> list[str]:
        return [t.rsplit("/", 1)[1] if "/" in t else "X" for t in self.tokens]

    @property
    def is_subclip(self) -> bool:
        return not (self.start == 0.0 and self.end == 0.0)

    def to_line(self) -> str:
        return f"{self.caption}#{' '.join(self.tokens)}#{self.start}#{self.end}"


def parse_text_line(line: str, where: str = "<text>") -> TextEntry:
    parts = line.rstrip("\n").split("#")
    if len(parts) != 4:
        raise ValueError(f"{where}: expected 'caption#word/POS ...#start#end' (4 fields), got {len(parts)} field(s)")
    caption, tokens, start, end = parts
    try:
        f_start = float(start) if start.strip() not in ("", "nan") else 0.0
        f_end = float(end) if end.strip() not in ("", "nan") else 0.0
    except ValueError:
        raise ValueError(f"{where}: start/end must be numbers of seconds, got {start!r} and {end!r}") from None
    return TextEntry(caption.strip(), tuple(tokens.split()), f_start, f_end)


def read_text_file(path: str | Path) -> list[TextEntry]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing caption file")
    entries = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            entries.append(parse_text_line(line, f"{path}:{i}"))
    if not entries:
        raise ValueError(f"{path}: no caption lines")
    return entries


def caption_words(dataset: str | Path, split: str = "train", min_count: int = 2) -> dict[str, int]:
    """Lower-case words of a dataset split's captions and how often each occurs (those seen at least `min_count`
    times): the vocabulary a model trained on them reads, which goal spelling correction compares against."""
    import re
    from collections import Counter
    dataset = Path(dataset)
    ids = (dataset / f"{split}.txt").read_text(encoding="utf-8").split()
    counts: Counter = Counter()
    for clip in ids:
        path = dataset / "texts" / f"{clip}.txt"
        if path.is_file():
            for entry in read_text_file(path):
                counts.update(w.lower() for w in re.findall(r"[A-Za-z]+", entry.caption))
    return {w: n for w, n in sorted(counts.items()) if n >= min_count}
