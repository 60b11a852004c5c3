"""A bundle: everything generation needs, as one directory with a manifest.

    BUNDLE/manifest.json   {"vq": "vq", "llm": "llm", "evaluator": "evaluator", ...}
    BUNDLE/vq/             motion tokenizer (config.json + model.safetensors + Mean/Std)
    BUNDLE/llm/            MotionLLM (save_pretrained layout + motion_vocab.json)
    BUNDLE/evaluator/      optional text-motion evaluator for assessment scores

One bundle ships inside the package (`irgmotion/assets/bundle`) so generation
works right after install, with no download.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..fileio import write_text
from ..llm.model import MotionLLM
from ..tokenizer.pretrained import MotionTokenizer

EMBEDDED = Path(__file__).resolve().parents[1] / "assets" / "bundle"


class BundleError(FileNotFoundError):
    """A bundle directory that is missing or incomplete."""


@dataclass
class Bundle:
    root: Path
    manifest: dict
    vq: MotionTokenizer
    llm: MotionLLM

    @property
    def assessment_style(self) -> str | None:
        """The wording of the LLM's assessments (the engine's style it was trained on), when recorded."""
        return self.manifest.get("assessment_style")

    def reasoner(self, verdict: str | None = None, select: str = "best"):
        """The bundle's LLM and tokenizer in a Reasoner with the measured defaults: the rule verdict where the
        assessment style allows it (else the model's own), the best-assessed round as the answer."""
        from .pipeline import RULE_STYLES, Reasoner
        verdict = verdict or ("rule" if self.assessment_style in RULE_STYLES else "model")
        return Reasoner(self.llm, self.vq, self.assessment_style, verdict=verdict, select=select)

    def part(self, name: str) -> Path | None:
        rel = self.manifest.get(name)
        return self.root / rel if rel else None


def load_bundle(path: str | Path | None = None) -> Bundle:
    root = Path(path) if path else EMBEDDED
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        where = "the embedded bundle" if path is None else str(root)
        raise BundleError(f"{manifest_path}: missing; {where} is not a bundle "
                          "(build one with `irgmotion pipeline --preset tiny --out DIR`)")
    manifest = json.loads(manifest_path.read_text())
    for key in ("vq", "llm"):
        if key not in manifest or not (root / manifest[key]).is_dir():
            raise BundleError(f"{root}: manifest names no usable {key!r} directory")
    return Bundle(root, manifest, MotionTokenizer.from_pretrained(root / manifest["vq"]),
                  MotionLLM.from_pretrained(root / manifest["llm"]))


def write_manifest(root: str | Path, **parts) -> None:
    write_text(Path(root) / "manifest.json", json.dumps({"format": "irgmotion-bundle", **parts}, indent=2))
