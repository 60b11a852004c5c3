"""Guo et al. (2022) text-motion matching model, with the official module and parameter names.

    text:   [GloVe word vector + Linear(15-way POS one-hot)] -> Linear -> BiGRU -> MLP -> co-embedding
    motion: features[..., :-4] (foot contacts dropped) -> MovementConvEncoder (two stride-2
            convolutions: one step per 4-frame unit) -> BiGRU -> MLP -> co-embedding

Parameter names and shapes follow `text_mot_match` of the official text-to-motion
code, so its checkpoint (`text_mot_match/model/finest.tar`, keys `text_encoder`,
`movement_encoder`, `motion_encoder`) loads with `load_official_guo` given the
official configuration (`GuoConfig.official()`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..motion.normalize import Normalizer
from .base import MatchingModel, UNIT_LENGTH, EvaluatorError
from .text import MAX_TEXT_LEN, N_POS, PosTagger, WordVectors, load_word_list


@dataclass
class GuoConfig:
    dim_pose: int = 263
    dim_word: int = 50
    dim_pos_ohot: int = N_POS
    dim_text_hidden: int = 128
    dim_coemb_hidden: int = 128
    dim_movement_enc_hidden: int = 128
    dim_movement_latent: int = 128
    dim_motion_hidden: int = 128
    max_text_len: int = MAX_TEXT_LEN
    unit_length: int = UNIT_LENGTH

    @classmethod
    def official(cls, dim_pose: int = 263) -> "GuoConfig":
        """The dimensions of the released HumanML3D / KIT-ML evaluators (GloVe 300-d)."""
        return cls(dim_pose=dim_pose, dim_word=300, dim_text_hidden=512, dim_coemb_hidden=512,
                   dim_movement_enc_hidden=512, dim_movement_latent=512, dim_motion_hidden=1024)

    @classmethod
    def preset(cls, name: str, dim_pose: int = 263) -> "GuoConfig":
        if name == "official":
            return cls.official(dim_pose)
        if name == "default":
            return cls(dim_pose=dim_pose)
        if name == "tiny":
            return cls(dim_pose=dim_pose, dim_text_hidden=32, dim_coemb_hidden=32, dim_movement_enc_hidden=32,
                       dim_movement_latent=32, dim_motion_hidden=32)
        raise EvaluatorError(f"unknown guo preset {name!r}; expected tiny, default or official")


def init_weight(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv1d, nn.Linear, nn.ConvTranspose1d)):
        nn.init.xavier_normal_(m.weight)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)


class MovementConvEncoder(nn.Module):
    """(B, T, D) -> (B, T/4, output): two stride-2 convolutions."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, dropout: float = 0.2):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1),
            nn.Dropout(dropout, inplace=True),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1),
            nn.Dropout(dropout, inplace=True),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.out_net = nn.Linear(output_size, output_size)
        self.main.apply(init_weight)
        self.out_net.apply(init_weight)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.main(inputs.permute(0, 2, 1)).permute(0, 2, 1)
        return self.out_net(outputs)


class _BiGRUCo(nn.Module):
    """Linear -> bidirectional GRU from a learnt initial state -> MLP on the two final states."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(
            nn.Linear(hidden_size * 2, hidden_size),
            nn.LayerNorm(hidden_size),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden_size, output_size),
        )
        self.input_emb.apply(init_weight)
        self.output_net.apply(init_weight)
        self.hidden = nn.Parameter(torch.randn((2, 1, hidden_size)))

    def _run(self, input_embs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden.repeat(1, input_embs.shape[0], 1)
        lengths = torch.as_tensor(lengths).long().cpu().clamp(1, input_embs.shape[1])
        packed = pack_padded_sequence(input_embs, lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, hidden)
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class TextEncoderBiGRUCo(_BiGRUCo):
    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int):
        super().__init__(word_size, hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)
        self.pos_emb.apply(init_weight)

    def forward(self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, cap_lens: torch.Tensor) -> torch.Tensor:
        inputs = word_embs + self.pos_emb(pos_onehot)
        return self._run(self.input_emb(inputs), cap_lens)


class MotionEncoderBiGRUCo(_BiGRUCo):
    def forward(self, inputs: torch.Tensor, m_lens: torch.Tensor) -> torch.Tensor:
        return self._run(self.input_emb(inputs), m_lens)


class GuoEvaluator(MatchingModel):
    """Text and motion encoders of Guo et al. plus the word-vector table they read."""

    kind = "guo"
    config_class = GuoConfig

    def __init__(self, config: GuoConfig, normalizer: Normalizer, vectors: WordVectors,
                 tagger: PosTagger | None = None):
        super().__init__(config, normalizer)
        if vectors.dim != config.dim_word:
            raise EvaluatorError(f"word vectors are {vectors.dim}-d but the config says dim_word={config.dim_word}")
        if normalizer.dim != config.dim_pose:
            raise EvaluatorError(f"statistics have {normalizer.dim} channels but the config says dim_pose={config.dim_pose}")
        self.vectors = vectors
        self.tagger = tagger or PosTagger()
        self.register_buffer("word_vectors", torch.from_numpy(np.array(vectors.vectors, dtype=np.float32)))
        c = config
        self.text_encoder = TextEncoderBiGRUCo(c.dim_word, c.dim_pos_ohot, c.dim_text_hidden, c.dim_coemb_hidden)
        self.movement_encoder = MovementConvEncoder(c.dim_pose - 4, c.dim_movement_enc_hidden, c.dim_movement_latent)
        self.motion_encoder = MotionEncoderBiGRUCo(c.dim_movement_latent, c.dim_motion_hidden, c.dim_coemb_hidden)

    @property
    def embed_dim(self) -> int:
        return self.config.dim_coemb_hidden

    def text_inputs(self, captions: list[str], tokens: list[list[str]] | None = None):
        """Word vectors (B, L, d), POS one-hots (B, L, 15) and lengths for a batch of captions."""
        rows, cats, lens = [], [], []
        for i, caption in enumerate(captions):
            tok = tokens[i] if tokens is not None and tokens[i] else self.tagger.tag(caption)
            r, c, n = self.vectors.encode(tok, self.config.max_text_len)
            rows.append(r)
            cats.append(c)
            lens.append(n)
        device = self.word_vectors.device
        rows_t = torch.tensor(rows, dtype=torch.long, device=device)
        pos = F.one_hot(torch.tensor(cats, dtype=torch.long, device=device), self.config.dim_pos_ohot).float()
        return self.word_vectors[rows_t], pos, torch.tensor(lens)  # lengths stay on the CPU (pack_padded_sequence)

    def encode_text(self, captions: list[str], tokens: list[list[str]] | None = None) -> torch.Tensor:
        word_embs, pos, lens = self.text_inputs(captions, tokens)
        return self.text_encoder(word_embs, pos, lens)

    def encode_motion(self, motion: torch.Tensor, lengths) -> torch.Tensor:
        if motion.shape[-1] != self.config.dim_pose:
            raise EvaluatorError(f"expected motion features with {self.config.dim_pose} channels, got {motion.shape[-1]}")
        unit = self.config.unit_length
        t = motion.shape[1]
        if t % unit:
            motion = F.pad(motion, (0, 0, 0, unit - t % unit))
        movements = self.movement_encoder(motion[..., :-4])
        units = torch.as_tensor(lengths).long() // unit
        return self.motion_encoder(movements, units.clamp_min(1))

    # Files ---------------------------------------------------------------
    def _save_extra(self, directory: Path) -> None:
        self.vectors.save_words(directory / "vocab.txt")
        self.tagger.save(directory / "pos_lexicon.json")

    @classmethod
    def _load(cls, directory: Path, config: GuoConfig, normalizer: Normalizer, **_) -> "GuoEvaluator":
        vocab = directory / "vocab.txt"
        if not vocab.is_file():
            raise EvaluatorError(f"{vocab}: missing word list of a guo evaluator")
        words = load_word_list(vocab)
        try:
            vectors = WordVectors(words, np.zeros((len(words), config.dim_word), np.float32))
        except ValueError as exc:
            raise EvaluatorError(f"{vocab}: {exc}") from None
        return cls(config, normalizer, vectors, PosTagger.load(directory / "pos_lexicon.json"))

    def load_official_state(self, checkpoint: dict) -> None:
        """Load the three sub-networks from an official `finest.tar` dictionary."""
        for key in ("text_encoder", "movement_encoder", "motion_encoder"):
            if key not in checkpoint:
                raise EvaluatorError(f"official checkpoint lacks {key!r} (has {', '.join(map(str, checkpoint))})")
            try:
                getattr(self, key).load_state_dict(checkpoint[key])
            except RuntimeError as exc:
                raise EvaluatorError(f"official checkpoint {key!r} does not fit this config: "
                                     f"{str(exc).splitlines()[1] if len(str(exc).splitlines()) > 1 else exc}") from None


def load_official_guo(checkpoint: str | Path, vectors: WordVectors, normalizer: Normalizer,
                      config: GuoConfig | None = None, tagger: PosTagger | None = None) -> GuoEvaluator:
    """A GuoEvaluator from the official `text_mot_match/model/finest.tar` and its GloVe vectors.

    `checkpoint` may be the file or a directory holding `text_mot_match/model/finest.tar`
    (or `model/finest.tar`). `normalizer` holds the statistics the official evaluator
    expects (its `meta/mean.npy`, `meta/std.npy`).
    """
    path = Path(checkpoint)
    if path.is_dir():
        for rel in ("text_mot_match/model/finest.tar", "model/finest.tar", "finest.tar"):
            if (path / rel).is_file():
                path = path / rel
                break
        else:
            raise FileNotFoundError(f"{checkpoint}: no text_mot_match/model/finest.tar inside")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: official checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EvaluatorError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None
    config = config or GuoConfig.official(normalizer.dim)
    model = GuoEvaluator(config, normalizer, vectors, tagger)
    model.load_official_state(state)
    return model.eval()
