"""Captions from per-clip labels: "an elderly person slowly walks forward and turns left".

A label schema says where each clip's labels are and how each label reads:

    fields:                         # label field -> where its value comes from
      content: {key: content, names: ../cfg/content_label.txt}   # key in ID.json beside ID.bvh;
      style:   {key: style, names: ../cfg/style_label.txt}       # an int indexes `names` (file or list)
    phrases:                        # field -> label -> phrases, or slot -> phrases
      content: {walk: ["walks forward", "walks straight ahead"], ...}
      style:   {elderly: {subject: ["an elderly person"], pre: ["slowly"], post: ["slowly"]}, ...}
    templates: ["{style.subject} {style.pre} {content}", "{style.subject} {content} {style.post}"]

Label names read from a names file lose everything up to their last "_" ("dataset-2_walk" -> "walk").
Paths are relative to the YAML file. Phrases are plain words found in the lexicon below, or tagged
`word/POS` or `word/POS/lemma` (HumanML3D writes nouns and verbs as lemmas: "walks/VERB/walk").
An empty phrase ("") drops the slot. The built-in BANDAI_SCHEMA is the schema of the
Bandai-Namco dataset 2 (labels in ID.json, names in cfg/ beside data/).

Lines follow HumanML3D's texts/ID.txt: `caption#word/POS ...#0.0#0.0`, tokens as
`irgmotion.data.synth.captions.render_tokens` writes them (punctuation dropped, nouns and verbs
lemmatised, "left"/"right" ADJ before a noun, NOUN after a determiner, ADV otherwise).
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path


class LabelError(ValueError):
    """A label schema or label file that cannot be used; one line naming the file."""


def _lex(pos: str, words: str) -> dict[str, tuple[str, str]]:
    out = {}
    for w in words.split():
        surface, _, lemma = w.partition(":")
        out[surface] = (lemma or surface, pos)
    return out


# word -> (lemma, universal POS)
LEXICON = {
    **_lex("DET", "a an the his her their both each its"),
    **_lex("NOUN", "person man woman someone:someone figure guy people hand hands:hand arm arms:arm step steps:step "
                   "turn:turn head way manner line direction time times:time air energy pace stance body"),
    **_lex("VERB", "walks:walk walk walking:walk turns:turn turning:turn runs:run run running:run "
                   "jogs:jog waves:wave wave waving:wave raises:raise raise raising:raise lifts:lift lift "
                   "takes:take makes:make puts:put holds:hold moves:move goes:go strolls:stroll sprints:sprint "
                   "shakes:shake reaches:reach"),
    **_lex("ADJ", "left right elderly old young youthful active energetic lively tired exhausted weary feminine "
                  "masculine normal few straight slow quick brisk graceful elegant light heavy relaxed casual wide "
                  "high other"),
    **_lex("ADV", "forward forwards ahead slowly quickly briskly energetically wearily gracefully lightly heavily "
                  "casually normally playfully then up around back again high above overhead sluggishly "
                  "vigorously confidently"),
    **_lex("ADP", "to in on with at of over above into for from along up down towards toward around while"),
    **_lex("CCONJ", "and or but"),
    **_lex("PRON", "they he she it them"),
    **_lex("NUM", "one two three"),
}


@dataclass
class LabelField:
    key: str  # key in the per-clip JSON
    names: list[str] | None  # index -> label name, when the JSON holds indices


@dataclass
class LabelSchema:
    fields: dict[str, LabelField]
    phrases: dict[str, dict[str, dict[str, list[str]]]]  # field -> label -> slot ("" = plain) -> phrases
    templates: list[str]
    where: str = "<schema>"


_SLOT = re.compile(r"\{(\w+)(?:\.(\w+))?\}")


def _label_name(name: str) -> str:
    return name.strip().rsplit("_", 1)[-1]


def schema_from_dict(data: dict, base: Path, where: str) -> LabelSchema:
    """Validate a schema (the YAML's content); `base` resolves names files."""
    if not isinstance(data, dict):
        raise LabelError(f"{where}: expected a mapping with fields, phrases and templates")
    for part in ("fields", "phrases", "templates"):
        if part not in data:
            raise LabelError(f"{where}: missing '{part}' (expected fields, phrases and templates)")
    fields = {}
    for name, spec in (data["fields"] or {}).items():
        if not isinstance(spec, dict) or "key" not in spec:
            raise LabelError(f"{where}: fields.{name}: expected {{key: JSON_KEY, names: FILE_OR_LIST}}")
        names = spec.get("names")
        if isinstance(names, str):
            path = (base / names).resolve()
            if not path.is_file():
                raise LabelError(f"{where}: fields.{name}.names: {path} not found; expected one label name a line")
            names = [n for n in path.read_text(encoding="utf-8").splitlines() if n.strip()]
        if names is not None:
            names = [_label_name(str(n)) for n in names]
        fields[str(name)] = LabelField(str(spec["key"]), names)
    phrases: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name, table in (data["phrases"] or {}).items():
        if name not in fields:
            raise LabelError(f"{where}: phrases.{name}: no such field (fields: {', '.join(fields)})")
        phrases[name] = {}
        for label, value in (table or {}).items():
            slots = value if isinstance(value, dict) else {"": value}
            for items in slots.values():
                if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
                    raise LabelError(f"{where}: phrases.{name}.{label}: expected a non-empty list of phrases")
                for item in items:
                    tag_phrase(item, f"{where}: phrases.{name}.{label}")  # unknown words fail here, once
            phrases[name][str(label)] = {str(k): list(v) for k, v in slots.items()}
    templates = data["templates"]
    if not isinstance(templates, list) or not templates:
        raise LabelError(f"{where}: templates: expected a non-empty list of sentences with {{field}} slots")
    for t in templates:
        for field, _slot in _SLOT.findall(t):
            if field not in phrases:
                raise LabelError(f"{where}: template {t!r} names {{{field}}}, which has no phrases")
        tag_phrase(_SLOT.sub("", t), f"{where}: template {t!r}")
    for name, f in fields.items():  # every label a clip can carry needs phrases
        if f.names and name in phrases:
            missing = [n for n in f.names if n not in phrases[name]]
            if missing:
                raise LabelError(f"{where}: phrases.{name} has no entry for label(s) {', '.join(missing)}")
    return LabelSchema(fields, phrases, list(templates), where)


def load_schema(path: str | Path) -> LabelSchema:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: label schema not found; expected a YAML file with fields, phrases, templates")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LabelError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return schema_from_dict(data, path.parent, str(path))


def clip_labels(schema: LabelSchema, label_json: Path) -> dict[str, str]:
    """Field -> label name for one clip, read from its JSON."""
    if not label_json.is_file():
        raise LabelError(f"{label_json}: missing label file; expected a JSON object like "
                         f"{{{', '.join(repr(f.key) + ': ...' for f in schema.fields.values())}}}")
    try:
        data = json.loads(label_json.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{label_json}: not valid JSON ({exc})") from None
    out = {}
    for name, f in schema.fields.items():
        if not isinstance(data, dict) or f.key not in data:
            raise LabelError(f"{label_json}: missing key {f.key!r} (label field {name})")
        value = data[f.key]
        if f.names is not None and isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(f.names):
                raise LabelError(f"{label_json}: {f.key} = {value}; expected an index 0..{len(f.names) - 1}")
            value = f.names[value]
        value = str(value)
        if name in schema.phrases and value not in schema.phrases[name]:
            raise LabelError(f"{label_json}: {f.key} = {value!r} has no phrases in {schema.where}")
        out[name] = value
    return out


def tag_phrase(text: str, where: str = "<phrase>") -> list[tuple[str, str, str]]:
    """(surface, lemma, POS) tokens; commas and full stops become PUNCT."""
    toks = []
    for item in text.replace(",", " , ").replace(".", " . ").split():
        if item in (",", "."):
            toks.append((item, item, "PUNCT"))
        elif "/" in item:
            parts = item.split("/")
            if len(parts) not in (2, 3) or not parts[1].isupper():
                raise LabelError(f"{where}: {item!r}: expected word/POS or word/POS/lemma (POS like VERB, NOUN)")
            toks.append((parts[0], parts[2] if len(parts) == 3 else parts[0], parts[1]))
        else:
            if item.lower() not in LEXICON:
                raise LabelError(f"{where}: the word {item!r} is not in the lexicon; write it as {item}/POS "
                                 f"or {item}/POS/lemma (e.g. strolls/VERB/stroll)")
            lemma, pos = LEXICON[item.lower()]
            toks.append((item, lemma, pos))
    return toks


def _render(toks: list[tuple[str, str, str]]) -> tuple[str, str]:
    from .synth.captions import render_tokens

    fixed = []
    for i, (surface, lemma, pos) in enumerate(toks):
        if surface in ("left", "right"):
            nxt = toks[i + 1][2] if i + 1 < len(toks) else None
            prv = toks[i - 1][2] if i > 0 else None
            pos = "ADJ" if nxt == "NOUN" else ("NOUN" if prv == "DET" else "ADV")
        fixed.append((surface, lemma, pos))
    return render_tokens(fixed)


def caption_labels(schema: LabelSchema, labels: dict[str, str], seed: int | str, n: int = 3) -> list[tuple[str, str]]:
    """Up to `n` different captions (text, 'word/POS ...') for one clip; the same seed gives the same lines."""
    rng = random.Random(str(seed))
    out, seen = [], set()
    for _ in range(30 * n):
        template = rng.choice(schema.templates)

        def fill(m: re.Match) -> str:
            field, slot = m.group(1), m.group(2) or ""
            slots = schema.phrases[field][labels[field]]
            return rng.choice(slots.get(slot) or slots.get("") or [""])

        text = " ".join(_SLOT.sub(fill, template).split())
        if not text or text in seen:
            continue
        seen.add(text)
        caption, tagged = _render(tag_phrase(text, schema.where))
        out.append((caption + ".", tagged))
        if len(out) == n:
            break
    return out


def caption_lines(captions: list[tuple[str, str]]) -> str:
    """texts/ID.txt content: one `caption#word/POS ...#0.0#0.0` line per caption."""
    return "".join(f"{c}#{t}#0.0#0.0\n" for c, t in captions)


_BANDAI_CONTENT = {
    "walk": ["walks forward", "walks straight ahead", "takes a few steps forward", "walks forward in a straight line"],
    "run": ["runs forward", "runs straight ahead", "runs forward in a straight line"],
    "wave-both-hands": ["waves both hands", "waves with both hands", "waves both arms"],
    "raise-up-both-hands": ["raises both hands", "raises both arms up", "lifts both hands up"],
}
for _s in ("left", "right"):
    _BANDAI_CONTENT[f"walk-turn-{_s}"] = [f"walks forward and turns {_s}", f"walks and turns to the {_s}",
                                          f"walks forward, then turns {_s}", f"walks and makes a {_s} turn"]
    _BANDAI_CONTENT[f"wave-{_s}-hand"] = [f"waves the {_s} hand", f"waves with the {_s} hand",
                                          f"waves the {_s} arm"]
    _BANDAI_CONTENT[f"raise-up-{_s}-hand"] = [f"raises the {_s} hand", f"raises the {_s} arm up",
                                              f"lifts the {_s} hand up"]

_BANDAI_STYLE = {
    "active": {"subject": ["an active person", "an energetic person", "a lively person"],
               "pre": ["energetically", "briskly", ""], "post": ["energetically", "with energy"]},
    "elderly": {"subject": ["an elderly person", "an old man", "an old woman", "an elderly man"],
                "pre": ["slowly", ""], "post": ["slowly", "at a slow pace"]},
    "exhausted": {"subject": ["an exhausted person", "a tired person", "a tired man"],
                  "pre": ["wearily", "slowly", ""], "post": ["wearily", "sluggishly"]},
    "feminine": {"subject": ["a woman", "a person"], "pre": ["gracefully", ""],
                 "post": ["in a feminine way", "gracefully"]},
    "masculine": {"subject": ["a man", "a person"], "pre": ["confidently", ""],
                  "post": ["in a masculine way", "with a wide stance"]},
    "normal": {"subject": ["a person", "someone", "a man", "a woman"], "pre": [""], "post": ["", "normally"]},
    "youthful": {"subject": ["a young person", "a youthful person", "a young man", "a young woman"],
                 "pre": ["playfully", "lightly", ""], "post": ["playfully", "with youthful energy"]},
}

BANDAI_SCHEMA = {
    "fields": {"content": {"key": "content", "names": "cfg/content_label.txt"},
               "style": {"key": "style", "names": "cfg/style_label.txt"}},
    "phrases": {"content": _BANDAI_CONTENT, "style": _BANDAI_STYLE},
    "templates": ["{style.subject} {style.pre} {content}", "{style.subject} {content} {style.post}"],
}


def bandai_schema(dataset_root: str | Path) -> LabelSchema:
    """The Bandai-Namco dataset 2 schema, its names read from `dataset_root`/cfg."""
    return schema_from_dict(BANDAI_SCHEMA, Path(dataset_root), "bandai label schema")
