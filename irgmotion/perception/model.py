"""The motion describer: a small encoder-decoder that reads a motion's token ids (the codes the LLM reads) and the
goal's canonical description, and writes the motion's ("walk forward 4 steps, then jump twice (small)").

Why a model of its own: the interleaved trace can only fix what its assessment perceives, and the bundle's small
LLM, which shares its capacity among eight tasks, describes a held-out motion exactly in under half the cases
(docs/bundle_v2/diagnosis.md); rescoring its own alternatives never changed its answer. A model trained on this one
task, on the data engine's candidates, reads the same tokens with nothing else to learn.

Why the goal as well: a description is judged against the goal, and what matters is whether it differs from the goal
where the motion does. Trained on the engine's pairs (the goal's own motion, retrieved ones, near-misses differing in
one slot), the describer learns how far to trust the goal's words as a prior and where to look for the difference;
one that saw the motion alone described more motions exactly than the LLM yet judged fewer levels right
(docs/bundle_v2/describer.md).

A describer is a directory: config.json (sizes and its word list) + model.safetensors (float16 on disk).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..fileio import atomic_path, write_text

FORMAT = "irgmotion-motion-describer"
PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
_WORD = re.compile(r"\(small\)|[^\s,:]+|[,:]")


def split_words(text: str) -> list[str]:
    """A canonical description's words; "," and ":" are words of their own ("(small)" is one word)."""
    return _WORD.findall(text)


def join_words(words: list[str]) -> str:
    return " ".join(words).replace(" ,", ",").replace(" :", ":")


@dataclass
class DescriberConfig:
    codebook_size: int
    words: list[str] = field(default_factory=list)  # the description vocabulary, specials first
    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 4
    decoder_layers: int = 2
    ff: int = 512
    max_motion_tokens: int = 64
    max_words: int = 72
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, data: dict, where: str) -> "DescriberConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        missing = [k for k in ("codebook_size", "words") if k not in known]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        return cls(**known)


class MotionDescriber(nn.Module):
    def __init__(self, config: DescriberConfig):
        super().__init__()
        self.config = c = config
        self.word_index = {w: i for i, w in enumerate(c.words)}
        # motion codes 0..K-1, K = padding
        self.motion_embed = nn.Embedding(c.codebook_size + 1, c.d_model, padding_idx=c.codebook_size)
        self.motion_pos = nn.Embedding(c.max_motion_tokens, c.d_model)
        self.word_embed = nn.Embedding(len(c.words), c.d_model, padding_idx=PAD)
        self.word_pos = nn.Embedding(c.max_words, c.d_model)
        self.goal_pos = nn.Embedding(c.max_words, c.d_model)  # the goal's words: shared embeddings, own positions
        layer = dict(d_model=c.d_model, nhead=c.heads, dim_feedforward=c.ff, dropout=c.dropout, batch_first=True,
                     norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), c.encoder_layers,
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), c.decoder_layers)
        self.norm = nn.LayerNorm(c.d_model)
        for emb in (self.motion_embed, self.motion_pos, self.word_embed, self.word_pos, self.goal_pos):
            # small, as in GPT-2: the word embeddings are also the output layer
            nn.init.normal_(emb.weight, std=0.02)

    # ---- tensors ---------------------------------------------------------------------------------------------
    def motion_batch(self, motions: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes [B, T], padding mask [B, T]); motions longer than the model reads are cut."""
        c = self.config
        cut = [list(m)[: c.max_motion_tokens] or [c.codebook_size] for m in motions]
        width = max(len(m) for m in cut)
        codes = torch.full((len(cut), width), c.codebook_size, dtype=torch.long)
        for i, m in enumerate(cut):
            codes[i, : len(m)] = torch.tensor(m, dtype=torch.long).clamp(0, c.codebook_size)
        # an empty motion reads as one padding code, left visible so that no row is masked whole
        mask = torch.arange(width)[None, :] >= torch.tensor([len(m) for m in cut])[:, None]
        device = self.word_embed.weight.device
        return codes.to(device), mask.to(device)

    def goal_batch(self, goals: list[str]) -> torch.Tensor:
        """The goals' word ids [B, W] (PAD after each; words outside the vocabulary read as <unk>; cut to fit)."""
        ids = [[self.word_index.get(w, UNK) for w in split_words(g or "")][: self.config.max_words] for g in goals]
        width = max(1, max(len(i) for i in ids))
        out = torch.full((len(goals), width), PAD, dtype=torch.long)
        for k, i in enumerate(ids):
            if i:
                out[k, : len(i)] = torch.tensor(i, dtype=torch.long)
        return out.to(self.word_embed.weight.device)

    def encode(self, codes: torch.Tensor, mask: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's states over the motion's codes then the goal's words, and their padding mask."""
        pos = torch.arange(codes.shape[1], device=codes.device)
        gpos = torch.arange(goal.shape[1], device=goal.device)
        x = torch.cat([self.motion_embed(codes) + self.motion_pos(pos), self.word_embed(goal) + self.goal_pos(gpos)], 1)
        mask = torch.cat([mask, goal == PAD], 1)
        return self.encoder(x, src_key_padding_mask=mask), mask

    def logits(self, memory: torch.Tensor, mask: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(words.shape[1], device=words.device)
        n = words.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool, device=words.device).triu(1)  # True: may not attend
        h = self.decoder(self.word_embed(words) + self.word_pos(pos), memory, tgt_mask=causal, tgt_is_causal=True,
                         tgt_key_padding_mask=words == PAD, memory_key_padding_mask=mask)
        return self.norm(h) @ self.word_embed.weight.T  # output layer tied to the word embeddings

    def word_ids(self, text: str) -> list[int] | None:
        """BOS + the description's word ids + EOS, or None when a word is outside the vocabulary or it is too long."""
        ids = [self.word_index.get(w) for w in split_words(text)]
        if any(i is None for i in ids) or len(ids) + 2 > self.config.max_words:
            return None
        return [BOS, *ids, EOS]

    # ---- inference -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def describe(self, motions: list[list[int]], goals: list[str], batch_size: int = 256) -> list[str | None]:
        """Greedy descriptions, one per motion, each read against its goal's canonical description; None where the
        describer ran out of words without ending."""
        if len(goals) != len(motions):
            raise ValueError(f"{len(motions)} motions but {len(goals)} goals")
        was = self.training
        self.eval()
        out: list[str | None] = []
        for s in range(0, len(motions), batch_size):
            out += self._describe(motions[s:s + batch_size], goals[s:s + batch_size])
        self.train(was)
        return out

    def _describe(self, motions: list[list[int]], goals: list[str]) -> list[str | None]:
        codes, mask = self.motion_batch(motions)
        memory, mask = self.encode(codes, mask, self.goal_batch(goals))
        words = torch.full((len(motions), 1), BOS, dtype=torch.long, device=codes.device)
        done = torch.zeros(len(motions), dtype=torch.bool, device=codes.device)
        for _ in range(self.config.max_words - 1):
            nxt = self.logits(memory, mask, words)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
            words = torch.cat([words, nxt[:, None]], dim=1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        texts: list[str | None] = []
        for row in words.tolist():
            row = row[1:]
            if EOS not in row:
                texts.append(None)
                continue
            texts.append(join_words([self.config.words[i] for i in row[: row.index(EOS)]]))
        return texts

    # ---- files -----------------------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, info: dict | None = None) -> Path:
        from safetensors.torch import save_file
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # float16 on disk: the describer rides in the embedded bundle, whose size is capped
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / "model.safetensors") as tmp:
            save_file(state, str(tmp))
        write_text(directory / "config.json", json.dumps({"format": FORMAT, **asdict(self.config), **(info or {})},
                                                         indent=1))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "MotionDescriber":
        from safetensors.torch import load_file
        directory = Path(directory)
        cfg_path, weights = directory / "config.json", directory / "model.safetensors"
        for path in (cfg_path, weights):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; a motion describer directory holds config.json and "
                                        "model.safetensors")
        try:
            data = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{cfg_path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{cfg_path}: not a motion describer (format {FORMAT!r} expected)")
        model = cls(DescriberConfig.from_dict(data, str(cfg_path)))
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"{weights}: weights do not match config.json (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        return model.eval()
