"""A bundle: everything generation needs, as one directory with a manifest.

    BUNDLE/manifest.json   {"vq": "vq", "llm": "llm", "evaluators": {"guo": "evaluator/guo"}, ...}
    BUNDLE/vq/             motion tokenizer (config.json + model.safetensors + Mean/Std)
    BUNDLE/llm/            MotionLLM (save_pretrained layout + motion_vocab.json)
    BUNDLE/evaluator/KIND/ optional text-motion evaluators for assessment scores
    BUNDLE/describer/      optional motion describer (perception.model): it writes what each motion shows

One bundle ships inside the package (`irgmotion/assets/bundle`) so generation
works right after install, with no download.

Every path the manifest names is relative and must stay inside the bundle directory (after resolving
symbolic links). `load_bundle` checks the manifest, each part's files, the weights' shapes against the
configs, the statistics and the codebook sizes before it loads any weights, and reports the first
problem as a `BundleError` naming the file: a bundle that loads is one that generation can use.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import write_text
from ..llm.model import MotionLLM
from ..perception.model import MotionDescriber
from ..tokenizer.pretrained import MotionTokenizer

EMBEDDED = Path(__file__).resolve().parents[1] / "assets" / "bundle"
FORMAT = "irgmotion-bundle"
# Manifest keys that name a part (a path relative to the bundle); "evaluators" maps kinds to such paths.
PART_KEYS = ("vq", "llm", "card", "describer")
REQUIRED = {"vq": "motion tokenizer", "llm": "MotionLLM"}
# Files from which transformers can build the LLM's text tokenizer.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")


class BundleError(FileNotFoundError):
    """A bundle directory that is missing, incomplete or corrupt; the message names the file and the problem."""


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _short(exc: BaseException, limit: int = 240) -> str:
    """An exception as one short line (loader messages can span many lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise BundleError(f"{path}: missing ({what})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{path}: not UTF-8 text; expected the JSON {what}") from None
    except OSError as exc:
        raise BundleError(f"{path}: unreadable ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                          f"expected the {what}") from None


def _json_object(path: Path, what: str) -> dict:
    doc = _read_json(path, what)
    if not isinstance(doc, dict):
        raise BundleError(f"{path}: expected a JSON object ({what}), got {_json_type(doc)}")
    return doc


def _inside(root: Path, rel, where: str) -> Path:
    """`root / rel`, refused unless `rel` is a relative path that resolves to somewhere inside `root`."""
    if not isinstance(rel, str) or not rel.strip():
        raise BundleError(f"{where} must be a non-empty string (a path relative to the bundle), got {_json_type(rel)}")
    if "\0" in rel:
        raise BundleError(f"{where} contains a NUL character")
    if Path(rel).is_absolute():
        raise BundleError(f"{where} is an absolute path ({rel!r}); bundle parts must be relative paths inside "
                          "the bundle")
    base = root.resolve()
    target = (root / rel).resolve()
    if target == base or base not in target.parents:
        raise BundleError(f"{where} ({rel!r}) points outside the bundle directory {root}; "
                          "bundle parts must stay inside it")
    return root / rel


def _check_parts(root: Path, manifest: dict, manifest_path: Path) -> dict:
    """Validate the manifest's values; returns {key: path} for the parts, "evaluators" -> {kind: path}."""
    fmt = manifest.get("format", FORMAT)
    if fmt != FORMAT:
        raise BundleError(f"{manifest_path}: 'format' is {fmt!r}, expected {FORMAT!r}")
    for key, what in REQUIRED.items():
        if key not in manifest:
            raise BundleError(f"{manifest_path}: missing key {key!r} (the {what} directory, relative to the bundle)")
    parts: dict = {}
    for key in PART_KEYS:
        if key in manifest:
            parts[key] = _inside(root, manifest[key], f"{manifest_path}: {key!r}")
    evaluators = manifest.get("evaluators", {})
    if not isinstance(evaluators, dict):
        raise BundleError(f"{manifest_path}: 'evaluators' must be an object of kind -> directory, "
                          f"got {_json_type(evaluators)}")
    parts["evaluators"] = {kind: _inside(root, rel, f"{manifest_path}: evaluators.{kind}")
                           for kind, rel in evaluators.items()}
    style = manifest.get("assessment_style")
    if style is not None and not isinstance(style, str):
        raise BundleError(f"{manifest_path}: 'assessment_style' must be a string, got {_json_type(style)}")
    return parts


def read_manifest(path: str | Path | None = None) -> tuple[Path, dict, dict]:
    """The bundle root, its manifest and its checked part paths; no part is opened."""
    root = Path(path) if path else EMBEDDED
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        where = "the embedded bundle" if path is None else str(root)
        raise BundleError(f"{manifest_path}: missing; {where} is not a bundle "
                          "(build one with `irgmotion pipeline --preset tiny --out DIR`)")
    manifest = _json_object(manifest_path, "bundle manifest")
    return root, manifest, _check_parts(root, manifest, manifest_path)


# ---- cheap checks of each part's files (no weights are loaded) -------------------------------------------
def _safetensors_shapes(path: Path) -> dict[str, tuple]:
    """Tensor name -> shape from a .safetensors header (safetensors checks the file covers every tensor);
    BundleError when missing, truncated or not safetensors."""
    from safetensors import SafetensorError, safe_open
    if not path.is_file():
        raise BundleError(f"{path}: missing weights file")
    try:
        with safe_open(str(path), "pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a complete .safetensors file ({_short(exc, 120)})") from None


def _compare_shapes(stored: dict, expected: dict, config: Path, weights: Path) -> None:
    for name, shape in expected.items():
        if name in stored and stored[name] != tuple(shape):
            raise BundleError(f"{config} does not match {weights}: {name} has shape {list(stored[name])} in the "
                              f"weights, {list(shape)} by the config")
    missing = [k for k in expected if k not in stored]
    if missing:
        raise BundleError(f"{weights}: lacks {len(missing)} tensor(s) that {config} defines (e.g. {missing[0]})")
    extra = [k for k in stored if k not in expected]
    if extra:
        raise BundleError(f"{weights}: holds {len(extra)} tensor(s) that {config} does not define (e.g. {extra[0]})")


def _meta_shapes(build, cfg_path: Path, what: str) -> dict[str, tuple]:
    """Tensor name -> shape of the module `build()` makes from a config, built on the meta device (no weights)."""
    import torch
    try:
        with torch.device("meta"):
            return {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except Exception as exc:
        raise BundleError(f"{cfg_path}: not a usable {what} config ({_short(exc, 160)})") from None


def _check_stats(directory: Path, dim: int | None) -> None:
    """Mean.npy / Std.npy: readable plain arrays, 1-D, finite, of the expected length."""
    shapes = []
    for name in ("Mean.npy", "Std.npy"):
        path = directory / name
        if not path.is_file():
            raise BundleError(f"{path}: missing normalisation statistics (a 1-D array of {dim or 'D'} values)")
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise BundleError(f"{path}: not a .npy file (expected a 1-D array of {dim or 'D'} values)")
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # truncated, or an object array
            raise BundleError(f"{path}: not a readable .npy array ({_short(exc, 120)})") from None
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or not np.issubdtype(arr.dtype, np.number):
            raise BundleError(f"{path}: expected a 1-D numeric array, got shape {getattr(arr, 'shape', '?')}")
        if dim is not None and arr.shape != (dim,):
            raise BundleError(f"{path}: shape {arr.shape}, expected ({dim},) to match the config")
        if not np.isfinite(arr).all():
            raise BundleError(f"{path}: contains NaN or inf")
        if name == "Std.npy" and (arr < 0).any():
            raise BundleError(f"{path}: contains negative standard deviations")
        shapes.append(arr.shape)
    if shapes[0] != shapes[1]:
        raise BundleError(f"{directory}: Mean.npy has shape {shapes[0]}, Std.npy {shapes[1]}")


def _check_vq(directory: Path) -> int:
    """The motion tokenizer's files; returns its codebook size."""
    from ..tokenizer.model import MotionVQVAE, VQConfig
    from ..tokenizer.pretrained import FORMAT as VQ_FORMAT
    if not directory.is_dir():
        state = "not a directory" if directory.exists() else "missing"
        raise BundleError(f"{directory}: {state} (the motion tokenizer directory)")
    cfg_path = directory / "config.json"
    raw = dict(_json_object(cfg_path, "motion tokenizer config"))
    if raw.pop("format", VQ_FORMAT) != VQ_FORMAT:
        raise BundleError(f"{cfg_path}: not a motion tokenizer config (format is not {VQ_FORMAT!r})")
    known = VQConfig.__dataclass_fields__
    for key in ("input_dim", "nb_code", "code_dim", "width", "depth", "down_t", "stride_t", "dilation_growth_rate"):
        value = raw.get(key, getattr(VQConfig, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BundleError(f"{cfg_path}: {key!r} must be a positive integer, got {value!r}")
    try:
        config = VQConfig.from_dict({k: v for k, v in raw.items() if k in known})
    except Exception as exc:
        raise BundleError(f"{cfg_path}: not a usable motion tokenizer config ({_short(exc, 160)})") from None
    expected = _meta_shapes(lambda: MotionVQVAE(config), cfg_path, "motion tokenizer")
    weights = directory / "model.safetensors"
    _compare_shapes(_safetensors_shapes(weights), expected, cfg_path, weights)
    _check_stats(directory, config.input_dim)
    return config.nb_code


def _llm_weight_shapes(directory: Path) -> dict[str, tuple]:
    """Shapes of the LLM's weights: model.safetensors, or the shards a model.safetensors.index.json lists."""
    index = directory / "model.safetensors.index.json"
    if (directory / "model.safetensors").is_file() or not index.is_file():
        return _safetensors_shapes(directory / "model.safetensors")
    weight_map = _json_object(index, "index of the weight shards").get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise BundleError(f"{index}: expected a 'weight_map' of tensor name -> shard file")
    shapes: dict[str, tuple] = {}
    for shard in sorted(set(weight_map.values())):
        shapes.update(_safetensors_shapes(_inside(directory, shard, f"{index}: shard")))
    return shapes


def _check_llm(directory: Path) -> int:
    """The MotionLLM's files; returns the motion codebook size its vocabulary records."""
    import torch

    from ..llm.model import META_FILE
    if not directory.is_dir():
        state = "not a directory" if directory.exists() else "missing"
        raise BundleError(f"{directory}: {state} (the MotionLLM directory)")
    meta_path = directory / META_FILE
    meta = _json_object(meta_path, "MotionLLM motion vocabulary")
    size = meta.get("codebook_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise BundleError(f"{meta_path}: 'codebook_size' must be a positive integer, got {size!r}")
    cfg_path = directory / "config.json"
    _json_object(cfg_path, "transformers model config")
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        raise BundleError(f"{directory / TOKENIZER_FILES[0]}: missing; the LLM's text tokenizer needs one of "
                          f"{', '.join(TOKENIZER_FILES)}")
    words = directory / "caption_words.json"  # optional: goal spelling correction (reason/goal_text.py)
    if words.is_file():
        from .goal_text import GoalReader
        try:
            GoalReader.for_llm_dir(directory)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleError(_short(exc)) from None
    tok = directory / "tokenizer.json"
    if tok.is_file():
        _json_object(tok, "text tokenizer")
    try:
        from ..llm.llama_inference import expected_shapes, runs_config
        raw = _json_object(cfg_path, "transformers model config")
        if runs_config(raw):  # the architecture the bundle decodes with; transformers' classes stay unimported
            expected = expected_shapes(raw)
            known = set(expected) | ({"lm_head.weight"} if raw.get("tie_word_embeddings", True) else set())
            vocab = raw["vocab_size"]
        else:
            from transformers import AutoConfig, AutoModelForCausalLM
            config = AutoConfig.from_pretrained(str(directory))
            with torch.device("meta"):
                model = AutoModelForCausalLM.from_config(config)
            # named_parameters lists a tied weight (lm_head = embed_tokens) once, under the name that is stored
            expected = {k: tuple(v.shape) for k, v in model.named_parameters()}
            known = set(model.state_dict())
            vocab = model.get_input_embeddings().num_embeddings
    except Exception as exc:
        raise BundleError(f"{cfg_path}: not a usable model config ({_short(exc, 160)})") from None
    weights = directory / "model.safetensors"
    stored = _llm_weight_shapes(directory)
    _compare_shapes({k: v for k, v in stored.items() if k in expected or k not in known}, expected, cfg_path, weights)
    offset = meta.get("code_offset")
    if isinstance(offset, int) and not isinstance(offset, bool) and offset + size > vocab:
        raise BundleError(f"{meta_path}: {size} motion codes from id {offset} do not fit the model's {vocab} "
                          f"embeddings ({cfg_path})")
    return size


def _check_evaluator(directory: Path) -> None:
    if not directory.is_dir():
        state = "not a directory" if directory.exists() else "missing"
        raise BundleError(f"{directory}: {state} (the evaluator directory)")
    cfg_path = directory / "config.json"
    doc = _json_object(cfg_path, "evaluator config")
    if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("model"), dict):
        raise BundleError(f"{cfg_path}: expected an object with 'kind' (a string) and 'model' (an object)")
    _safetensors_shapes(directory / "model.safetensors")
    dim = doc["model"].get("dim_pose")
    _check_stats(directory, dim if isinstance(dim, int) and not isinstance(dim, bool) else None)


def _check_describer(directory: Path, nb_code: int) -> None:
    from ..perception.model import FORMAT as DESCRIBER_FORMAT
    from ..perception.model import DescriberConfig
    if not directory.is_dir():
        state = "not a directory" if directory.exists() else "missing"
        raise BundleError(f"{directory}: {state} (the motion describer directory)")
    cfg_path = directory / "config.json"
    raw = _json_object(cfg_path, "motion describer config")
    if raw.get("format") != DESCRIBER_FORMAT:
        raise BundleError(f"{cfg_path}: not a motion describer config (format is not {DESCRIBER_FORMAT!r})")
    try:
        config = DescriberConfig.from_dict(raw, str(cfg_path))
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{cfg_path}: not a usable motion describer config ({_short(exc, 160)})") from None
    expected = _meta_shapes(lambda: MotionDescriber(config), cfg_path, "motion describer")
    weights = directory / "model.safetensors"
    _compare_shapes(_safetensors_shapes(weights), expected, cfg_path, weights)
    if config.codebook_size != nb_code:
        raise BundleError(f"{cfg_path}: the describer reads {config.codebook_size} motion codes, the motion tokenizer "
                          f"has a codebook of {nb_code}")


def check_bundle(path: str | Path | None = None) -> tuple[Path, dict, dict]:
    """Every check `load_bundle` makes before loading weights (fast: headers and small files only).
    Returns the root, the manifest and the part paths; raises BundleError naming the bad file."""
    root, manifest, parts = read_manifest(path)
    nb_code = _check_vq(parts["vq"])
    llm_codes = _check_llm(parts["llm"])
    if llm_codes != nb_code:
        raise BundleError(f"{parts['llm'] / 'motion_vocab.json'}: the LLM has {llm_codes} motion tokens, the motion "
                          f"tokenizer ({parts['vq'] / 'config.json'}) a codebook of {nb_code}")
    for evaluator in parts["evaluators"].values():
        _check_evaluator(evaluator)
    if "describer" in parts:
        _check_describer(parts["describer"], nb_code)
    return root, manifest, parts


@dataclass
class Bundle:
    root: Path
    manifest: dict
    vq: MotionTokenizer
    llm: MotionLLM
    describer: MotionDescriber | None = None

    @property
    def assessment_style(self) -> str | None:
        """The wording of the LLM's assessments (the engine's style it was trained on), when recorded."""
        return self.manifest.get("assessment_style")

    def reasoner(self, verdict: str | None = None, select: str | None = None, perception: str | None = None):
        """The bundle's LLM and tokenizer in a Reasoner with the measured defaults: the rule verdict where the
        assessment style allows it (else the model's own), the best-assessed round as the answer, and the bundle's
        describer writing what each motion shows where it has one and the rule verdict judges (`perception`
        "model": the LLM describes the motions itself)."""
        from .options import DEFAULT_SELECT, PERCEPTIONS
        from .pipeline import RULE_STYLES, Reasoner
        select = select or DEFAULT_SELECT
        verdict = verdict or ("rule" if self.assessment_style in RULE_STYLES else "model")
        if perception not in (None, *PERCEPTIONS):
            raise ValueError(f"unknown perception {perception!r}; choose from {', '.join(PERCEPTIONS)}")
        if perception == "describer" and (self.describer is None or verdict != "rule"):
            raise ValueError(f"{self.root}: perception 'describer' needs a bundle with a describer and the rule verdict")
        use = self.describer if (perception or "describer") == "describer" and verdict == "rule" else None
        return Reasoner(self.llm, self.vq, self.assessment_style, verdict=verdict, select=select, describer=use)

    def part(self, name: str) -> Path | None:
        """The path of a part the manifest names (checked to lie inside the bundle), or None."""
        rel = self.manifest.get(name)
        return _inside(self.root, rel, f"{self.root / 'manifest.json'}: {name!r}") if rel else None

    @property
    def evaluators(self) -> dict[str, Path]:
        """Evaluator kind -> directory, as the manifest names them (checked to lie inside the bundle)."""
        return _check_parts(self.root, self.manifest, self.root / "manifest.json")["evaluators"]


def load_bundle(path: str | Path | None = None, device: str = "cpu") -> Bundle:
    """Check, then load a bundle's models onto `device` (a resolved device string, see irgmotion.devices): the LLM in
    bf16 on a CUDA GPU that computes it natively, float32 elsewhere."""
    root, manifest, parts = check_bundle(path)
    try:
        vq = MotionTokenizer.from_pretrained(parts["vq"], device=device)
    except Exception as exc:  # anything the checks above could not foresee, named by the part
        raise BundleError(f"{parts['vq']}: cannot load the motion tokenizer ({_short(exc)})") from None
    try:
        # a bundle's LLM decodes; it is not trained here
        llm = MotionLLM.from_pretrained(parts["llm"], device=device, fast=True)
    except Exception as exc:
        raise BundleError(f"{parts['llm']}: cannot load the MotionLLM ({_short(exc)})") from None
    if llm.codebook_size != vq.codebook_size:
        raise BundleError(f"{parts['llm']}: the LLM has {llm.codebook_size} motion tokens, the motion tokenizer "
                          f"{parts['vq']} a codebook of {vq.codebook_size}")
    describer = None
    if "describer" in parts:
        try:
            describer = MotionDescriber.from_pretrained(parts["describer"]).to(device)
        except Exception as exc:
            raise BundleError(f"{parts['describer']}: cannot load the motion describer ({_short(exc)})") from None
    return Bundle(root, manifest, vq, llm, describer)


def write_manifest(root: str | Path, **parts) -> None:
    """Write ROOT/manifest.json; part paths must be relative and inside ROOT, other values JSON."""
    root = Path(root)
    doc = {"format": FORMAT, **parts}
    _check_parts(root, doc, root / "manifest.json")
    write_text(root / "manifest.json", json.dumps(doc, indent=2))
