"""HumanML3D-style captions from a small grammar that knows its own POS tags.

Every grammar token carries (surface, lemma, universal POS). The tagged line
follows the dataset's text processing: tokens that are not alphabetic (digits,
punctuation) are dropped, nouns and verbs are lemmatised (except "left"),
other words are kept as written. Possessives are tagged DET as in the
released files ("his/DET").

Each action has several verb phrases with synonyms; counts are written as
words ("three times", "twice") or digits ("3 times"); directions and sides
have synonyms ("to the left", "leftward"); manner words ("slowly", "quickly",
"high", "deeply") are chosen only when the parameters support them.
Sequences use "then", "and then", "after that", "before ...ing", "after
...ing", "first ... then ... finally"; an upper-body action during locomotion
is joined with "while"/"as" or a participle.
"""
from __future__ import annotations

import numpy as np

from .program import Action, Program, validate_program

# --------------------------------------------------------------------------
# lexicon: surface -> (POS, lemma); lemmas matter for NOUN (and VERB, built separately)

_LEX = {}


def _add(pos, words):
    for w in words.split():
        if ":" in w:
            w, lemma = w.split(":")
        else:
            lemma = w
        _LEX[w] = (pos, lemma)


_add("DET", "a an the his her their each both another")
_add("NOUN", "person man woman figure human guy someone:someone step:step steps:step time:time times:time "
     "hand:hand hands:hand arm:arm arms:arm leg:leg legs:leg foot:foot feet:foot knee:knee knees:knee "
     "toe:toe toes:toe head:head shoulder:shoulder shoulders:shoulder side:side sides:side circle:circle "
     "circles:circle curve:curve path:path place:place spot:spot ground:ground floor:floor jack:jack "
     "jacks:jack squat:squat squats:squat jump:jump jumps:jump punch:punch punches:punch kick:kick kicks:kick "
     "bow:bow lunge:lunge lunges:lunge degrees:degree degree:degree turn:turn turns:turn ball:ball "
     "body:body torso:torso fist:fist fists:fist pace:pace moment:moment while:while seconds:second "
     "quarter:quarter half:half tiptoes:tiptoe tiptoe:tiptoe air:air direction:direction front:front "
     "wave:wave waves:wave seat:seat way:way")
_add("PRON", "he she they someone it himself herself themselves that one")
_add("ADJ", "left right upper full deep shallow small big high low slow quick brisk few other straight "
     "little long curved clockwise counterclockwise sideways:sideways same original single")
_add("ADV", "forward forwards backward backwards leftward rightward sideways slowly quickly fast briskly "
     "then once twice back around again high deeply slightly finally first next afterwards also "
     "diagonally ahead alternately overhand together quietly still briefly low outward repeatedly "
     "gently energetically hard lightly")
_add("ADP", "to in on with at of over above into for from along up down towards toward across "
     "before after by out behind")
_add("NUM", "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
     "sixteen ninety")
_add("CCONJ", "and or but")
_add("PRON", "something them")
_add("DET", "all")
_add("NOUN", "quarters:quarter position:position")
_add("SCONJ", "while as")
_add("AUX", "is")
_add("PART", "not")

NUM_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen"]

_DOUBLE = {"run", "sit", "hop", "step", "stop", "clap", "jog", "spin", "shrug", "get", "put", "squat", "swing"}
_IRREG_3SG = {"do": "does", "go": "goes", "be": "is"}


def inflect(lemma: str, form: str) -> str:
    if form == "base":
        return lemma
    if form == "3sg":
        if lemma in _IRREG_3SG:
            return _IRREG_3SG[lemma]
        if lemma.endswith(("s", "sh", "ch", "x", "z")):
            return lemma + "es"
        if lemma.endswith("y") and lemma[-2] not in "aeiou":
            return lemma[:-1] + "ies"
        return lemma + "s"
    if form == "ing":
        if lemma in _DOUBLE:
            return lemma + lemma[-1] + "ing"
        if lemma.endswith("ie"):
            return lemma[:-2] + "ying"
        if lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")):
            return lemma[:-1] + "ing"
        return lemma + "ing"
    raise ValueError(form)


class Tok(tuple):
    """(surface, lemma, pos)."""
    __slots__ = ()


def _w(text: str, form: str, subj) -> list:
    """Parse a template: words, {verb} (inflected), {verb:base|ing|3sg}, word/POS, $poss, $pron, $self."""
    out = []
    for item in text.replace(",", " , ").replace(".", " . ").split():
        if item.startswith("{") and item.endswith("}"):
            body = item[1:-1]
            lemma, _, f = body.partition(":")
            out.append(Tok((inflect(lemma, f or form), lemma, "VERB")))
        elif item == "$poss":
            out.append(Tok((subj.poss, subj.poss, "DET")))
        elif item == "$pron":
            out.append(Tok((subj.pron, subj.pron, "PRON")))
        elif item == "$self":
            out.append(Tok((subj.refl, subj.refl, "PRON")))
        elif item in (",", ".", ";"):
            out.append(Tok((item, item, "PUNCT")))
        elif "/" in item:
            word, pos = item.split("/")
            lemma = _LEX.get(word, (pos, word))[1] if pos == "NOUN" else word
            out.append(Tok((word, lemma, pos)))
        elif item.isdigit():
            out.append(Tok((item, item, "NUM")))
        else:
            if item not in _LEX:
                raise KeyError(f"caption word {item!r} has no POS in the lexicon")
            pos, lemma = _LEX[item]
            out.append(Tok((item, lemma, pos)))
    return out


class Subject:
    def __init__(self, text, pron, poss, refl, number):
        self.text, self.pron, self.poss, self.refl, self.number = text, pron, poss, refl, number


SUBJECTS = [
    ("a person", "they", "their", "themselves", "pl", 3.0),
    ("a man", "he", "his", "himself", "sg", 3.0),
    ("someone", "they", "their", "themselves", "pl", 1.5),
    ("the person", "they", "their", "themselves", "pl", 1.5),
    ("a woman", "she", "her", "herself", "sg", 1.0),
    ("the man", "he", "his", "himself", "sg", 1.0),
    ("a figure", "it", "its", "itself", "sg", 0.5),
    ("a human", "they", "their", "themselves", "pl", 0.5),
]
_add("DET", "its")
_add("PRON", "itself")


def _pick(rng, items, weights=None):
    if weights is None:
        return items[int(rng.integers(0, len(items)))]
    w = np.asarray(weights, dtype=np.float64)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def _subject(rng):
    text, pron, poss, refl, num, _ = _pick(rng, SUBJECTS, [s[5] for s in SUBJECTS])
    return Subject(text, pron, poss, refl, num)


# --------------------------------------------------------------------------
# counts, sides, directions

def count_adv(rng, n: int, optional_one: bool = True) -> str:
    """'once' / 'twice' / 'three times' / '3 times' (empty for 1 when optional)."""
    if n == 1:
        return "" if optional_one and rng.random() < 0.6 else "once"
    if n == 2:
        return _pick(rng, ["twice", "two times", "2 times", "twice"])
    return _pick(rng, [f"{NUM_WORDS[n]} times", f"{n} times", f"{NUM_WORDS[n]} times"])


def num(rng, n: int) -> str:
    return _pick(rng, [NUM_WORDS[n], NUM_WORDS[n], str(n)])


def plural(noun: str, n: int) -> str:
    if n == 1:
        return noun
    return {"foot": "feet", "punch": "punches", "lunge": "lunges"}.get(noun, noun + "s")


def side_dir(rng, side: str) -> str:
    return _pick(rng, [f"to the {side}", f"to the {side}", f"to $poss {side}", f"{side}ward", f"towards the {side}"])


DIR_WORDS = {
    "forward": ["forward", "forward", "forwards", "straight ahead", "ahead"],
    "backward": ["backward", "backward", "backwards"],
    "left": ["to the left", "to the left", "to $poss left", "leftward", "towards the left"],
    "right": ["to the right", "to the right", "to $poss right", "rightward", "towards the right"],
    "forward_left": ["diagonally forward to the left", "forward and to the left", "diagonally to the left"],
    "forward_right": ["diagonally forward to the right", "forward and to the right", "diagonally to the right"],
    "backward_left": ["backward and to the left", "diagonally backward to the left", "backwards to the left"],
    "backward_right": ["backward and to the right", "diagonally backward to the right", "backwards to the right"],
}


def _join(*parts) -> str:
    return " ".join(p for p in parts if p)


# --------------------------------------------------------------------------
# verb phrases per action: each returns a template string (verbs in {})

def _manner_speed(rng, speed, slow=("slowly", "slowly", "at a slow pace"), fast=("quickly", "fast", "quickly")):
    if speed < 0.8:
        return _pick(rng, list(slow)) if rng.random() < 0.85 else ""
    if speed > 1.25:
        return _pick(rng, list(fast)) if rng.random() < 0.85 else ""
    return ""


def vp_gait(rng, p, gait):
    verbs = {"walk": ["{walk}", "{walk}", "{walk}", "{stroll}"] if p["speed"] < 0.85 else ["{walk}"],
             "jog": ["{jog}", "{jog}", "{trot}"],
             "run": ["{run}", "{run}", "{sprint}"] if p["speed"] > 1.2 else ["{run}", "{run}", "{dash}"]}[gait]
    verb = _pick(rng, verbs)
    d = p["direction"]
    steps = p["steps"]
    manner = _manner_speed(rng, p["speed"], fast=("quickly", "fast", "briskly") if gait == "walk" else
                           ("quickly", "fast", "quickly"))
    if p["path"] == "circle":
        way = _pick(rng, [f"in a circle to the {p['turn']}", f"in a circle , {{turn:ing}} {p['turn']}",
                          f"around in a circle towards the {p['turn']}", f"in a full circle to the {p['turn']}"])
    elif p["path"] == "curve":
        way = _pick(rng, [f"forward and curves to the {p['turn']}", f"along a curve to the {p['turn']}",
                          f"in a curve to the {p['turn']}", f"forward , {{curve:ing}} to the {p['turn']}"])
        way = way.replace("curves", "{curve}")
    else:
        way = _pick(rng, DIR_WORDS[d])
    cnt = ""
    r = rng.random()
    if r < 0.55:
        cnt = f"{num(rng, steps)} {plural('step', steps)}" if steps > 1 else "one step"
        form = rng.integers(0, 3)
        if form == 0 and gait == "walk" and p["path"] == "straight":
            return _join("{take}", cnt, way, manner)
        if form == 1:
            return _join(verb, way, "for", cnt, manner)
        return _join(verb, cnt, way, manner) if p["path"] == "straight" else _join(verb, way, "for", cnt, manner)
    return _join(verb, manner, way) if rng.random() < 0.5 else _join(verb, way, manner)


def vp_side_step(rng, p):
    n = p["steps"]
    way = side_dir(rng, p["direction"])
    c = f"{num(rng, n)} {plural('step', n)}"
    opts = [_join("{sidestep}", way), _join("{step}", "sideways", way), _join("{shuffle}", "sideways", way),
            _join("{take}", c, "sideways", way), _join("{sidestep}", way, count_adv(rng, n))]
    return _pick(rng, opts)


def _turn_words(rng, angle, side):
    if angle == 180:
        return _pick(rng, [f"around to the {side}", "around", f"180 degrees to the {side}", f"a half turn to the {side}"])
    if angle == 90:
        return _pick(rng, [f"to the {side}", f"{side}", f"90 degrees to the {side}", f"ninety degrees to the {side}",
                           f"a quarter turn to the {side}"])
    if angle == 360:
        return _pick(rng, [f"all the way around to the {side}", f"a full turn to the {side}", f"360 degrees to the {side}",
                           f"in a full circle to the {side}"])
    if angle == 270:
        return _pick(rng, [f"270 degrees to the {side}", f"three quarters of a turn to the {side}"])
    if angle == 45:
        return _pick(rng, [f"slightly to the {side}", f"45 degrees to the {side}", f"a little to the {side}"])
    return f"{angle} degrees to the {side}"


def vp_turn(rng, p):
    w = _turn_words(rng, p["angle"], p["direction"])
    if w.startswith(("a half", "a quarter", "a full", "three quarters")):
        return _join(_pick(rng, ["{make}", "{do}"]), w)
    manner = _manner_speed(rng, p["speed"])
    return _join("{turn}", w, manner)


def vp_spin(rng, p):
    n = p["turns"]
    c = "twice" if n == 2 and rng.random() < 0.5 else ("two full turns" if n == 2 else "")
    side = p["direction"]
    opts = [_join("{spin}", "around", f"to the {side}"), _join("{spin}", f"to the {side}"),
            _join("{spin}", "around", "on the spot", f"to the {side}"), _join("{twirl}", "around", f"to the {side}")]
    base = _pick(rng, opts)
    if n == 2:
        if c == "twice":
            return _join(base, "twice")
        return _join(base, _pick(rng, ["two times", "2 times", "twice"]))
    return base


def vp_jump(rng, p):
    n, d, H = p["count"], p["direction"], p["height"]
    verb = _pick(rng, ["{jump}", "{jump}", "{jump}", "{leap}"] if d != "in_place" else ["{jump}"])
    way = {"in_place": _pick(rng, ["in place", "on the spot", "up", "up and down", ""]),
           "forward": _pick(rng, ["forward", "forwards", "ahead"]),
           "backward": _pick(rng, ["backward", "backwards"]),
           "left": _pick(rng, ["to the left", "sideways to the left", "leftward"]),
           "right": _pick(rng, ["to the right", "sideways to the right", "rightward"])}[d]
    manner = ""
    if H > 0.34 and rng.random() < 0.8:
        manner = _pick(rng, ["high", "high", "up high"]) if d == "in_place" else "high"
    elif H < 0.16 and rng.random() < 0.7:
        manner = _pick(rng, ["slightly", "a little", "lightly"])
    r = rng.random()
    if r < 0.3 and n > 1:
        return _join("{do}", _pick(rng, [NUM_WORDS[n], str(n)]), "small" if H < 0.16 else ("big" if H > 0.34 else ""),
                     plural("jump", n), way)
    if r < 0.45 and n == 1:
        return _join("{do}", "a", "small" if H < 0.16 else ("big" if H > 0.34 else ""), "jump", way)
    return _join(verb, manner, way, count_adv(rng, n))


def vp_hop(rng, p):
    n, leg = p["count"], p["leg"]
    on = _pick(rng, [f"on $poss {leg} leg", f"on the {leg} leg", f"on $poss {leg} foot"])
    way = "forward" if p["direction"] == "forward" else _pick(rng, ["in place", "on the spot", ""])
    cnt = count_adv(rng, n)
    if rng.random() < 0.5:
        return _join("{hop}", way, on, cnt)
    return _join("{hop}", on, way, cnt)


def vp_jumping_jacks(rng, p):
    n = p["count"]
    manner = _manner_speed(rng, p["speed"])
    opts = [_join("{do}", num(rng, n), "{jump:ing}", plural("jack", n) if n > 1 else "jack"),
            _join("{perform}", num(rng, n), "{jump:ing}", "jacks"),
            _join("{do}", "{jump:ing}", "jacks", manner)]
    out = _pick(rng, opts)
    if n == 1:
        out = out.replace("one {jump:ing} jacks", "one {jump:ing} jack").replace("1 {jump:ing} jacks", "1 {jump:ing} jack")
    return out


def vp_march(rng, p):
    n = p["steps"]
    where = _pick(rng, ["in place", "on the spot", "in place"])
    knees = ""
    if p["knee"] > 1.12 and rng.random() < 0.8:
        knees = _pick(rng, [", {lift:ing} $poss knees high", ", {raise:ing} $poss knees high"])
    manner = _manner_speed(rng, p["speed"])
    if rng.random() < 0.5:
        return _join("{march}", where, manner, "for", num(rng, n), plural("step", n)) + knees
    return _join("{march}", where, manner) + knees


def vp_stomp(rng, p):
    n, f = p["count"], p["foot"]
    cnt = count_adv(rng, n)
    if f == "both":
        return _pick(rng, [_join("{stomp}", "$poss feet", "alternately"), _join("{stomp}", "each foot", cnt),
                           _join("{stomp}", "on the ground with both feet", "alternately")])
    return _pick(rng, [_join("{stomp}", f"$poss {f} foot", cnt), _join("{stomp}", f"with $poss {f} foot", cnt),
                       _join("{stomp}", f"the ground with $poss {f} foot", cnt)])


def vp_squat(rng, p):
    n, depth = p["count"], p["depth"]
    adj = ""
    adv = ""
    if depth > 0.85 and rng.random() < 0.7:
        adj, adv = "deep", "deeply"
    elif depth < 0.55 and rng.random() < 0.7:
        adj, adv = "shallow", "slightly"
    manner = _manner_speed(rng, p["speed"])
    opts = [_join("{squat}", adv, "down", count_adv(rng, n), manner),
            _join("{do}", num(rng, n) if n > 1 else "a", adj, plural("squat", n), manner),
            _join("{squat}", "down", adv, "and {stand} back up", count_adv(rng, n, optional_one=True))]
    return _pick(rng, opts)


def vp_crouch(rng, p):
    stay = ""
    if p["hold"] > 1.4 and rng.random() < 0.6:
        stay = _pick(rng, [", {stay} low for a moment ,", ", {hold} the position for a moment ,"])
    low = "low" if p["depth"] > 0.9 and rng.random() < 0.5 else ""
    return _pick(rng, [_join("{crouch}", "down", low, stay, "and {stand} back up"),
                       _join("{crouch}", "down", low, stay, "and then {rise}"),
                       _join("{crouch}", low, stay, "and {get} back up")]).replace(", and", "and").replace(" ,and", " and")


def vp_kneel(rng, p):
    k = p["knee"]
    if k == "both":
        down = _pick(rng, ["{kneel} down on both knees", "{drop} to $poss knees", "{kneel} on both knees",
                           "{go} down on both knees"])
    else:
        down = _pick(rng, [f"{{kneel}} down on $poss {k} knee", f"{{kneel}} on $poss {k} knee",
                           f"{{go}} down on $poss {k} knee", f"{{kneel}} on the {k} knee"])
    up = _pick(rng, ["and {get} back up", "and then {stand} up", "and {stand} up again", "before getting/VERB back up"])
    if up.startswith("before"):
        up = "before {get:ing} back up"
    return _join(down, up)


def vp_sit(rng, p):
    where = _pick(rng, ["on the ground", "on the floor", "on the ground", "down on the floor"])
    stay = "for a while/NOUN" if p["hold"] > 2.2 and rng.random() < 0.5 else ""
    return _pick(rng, [_join("{sit}", "down", where, stay, "and {stand} back up"),
                       _join("{sit}", "down", where, stay, "and then {get} up"),
                       _join("{sit}", where, stay, "before {stand:ing} up again")]).replace("down down", "down")


def vp_bow(rng, p):
    n, depth = p["count"], p["depth"]
    adv = ""
    if depth > 0.8 and rng.random() < 0.7:
        adv = "deeply"
    elif depth < 0.45 and rng.random() < 0.7:
        adv = "slightly"
    opts = [_join("{bow}", adv, count_adv(rng, n)), _join("{bow}", "down", adv, count_adv(rng, n))]
    if n == 1:
        opts.append(_join("{take}", "a", "deep" if adv == "deeply" else ("small" if adv == "slightly" else ""), "bow"))
    return _pick(rng, opts)


def vp_touch_toes(rng, p):
    n = p["count"]
    return _pick(rng, [_join("{bend}", "down to {touch:base} $poss toes", count_adv(rng, n)),
                       _join("{touch}", "$poss toes", count_adv(rng, n)),
                       _join("{bend}", "over and {reach}", "for $poss toes", count_adv(rng, n)),
                       _join("{bend}", "forward to {touch:base} $poss toes", count_adv(rng, n))])


def vp_lean(rng, p):
    d = p["direction"]
    adv = "slightly" if p["amount"] < 0.45 and rng.random() < 0.7 else ""
    way = side_dir(rng, d)
    cnt = count_adv(rng, p["count"])
    return _pick(rng, [_join("{lean}", adv, way, cnt), _join("{lean}", "$poss upper body", adv, way, cnt),
                       _join("{bend}", "sideways", adv, way, cnt), _join("{tilt}", "$poss torso", adv, way, cnt)])


def vp_lunge(rng, p):
    leg, n = p["leg"], p["count"]
    cnt = count_adv(rng, n)
    return _pick(rng, [_join("{lunge}", "forward with $poss", leg, "leg", cnt),
                       _join("{do}", "a" if n == 1 else num(rng, n), plural("lunge", n), "with the", leg, "leg"),
                       _join("{step}", "forward into a lunge with $poss", leg, "leg", cnt)])


def vp_balance(rng, p):
    leg = p["leg"]
    other = "right" if leg == "left" else "left"
    return _pick(rng, [_join("{stand}", f"on $poss {leg} leg"), _join("{balance}", f"on the {leg} leg"),
                       _join("{lift}", f"$poss {other} leg and {{balance}} on the {leg} one".replace("one", "leg")),
                       _join("{stand}", f"on the {leg} leg")])


def vp_kick(rng, p):
    leg, d, n, h = p["leg"], p["direction"], p["count"], p["height"]
    high = "high" if h > 0.85 and rng.random() < 0.7 else ""
    cnt = count_adv(rng, n)
    if d == "sideways":
        return _pick(rng, [_join("{kick}", "sideways", high, f"with $poss {leg} leg", cnt),
                           _join("{do}", "a" if n == 1 else num(rng, n), "side", plural("kick", n), f"with the {leg} leg"),
                           _join("{kick}", "out to the side", f"with $poss {leg} foot", cnt)])
    return _pick(rng, [_join("{kick}", high, f"with $poss {leg} leg", cnt),
                       _join("{kick}", "forward", high, f"with $poss {leg} foot", cnt),
                       _join("{kick}", f"$poss {leg} leg", "forward", high, cnt),
                       _join("{do}", "a" if n == 1 else num(rng, n), "front", plural("kick", n), f"with $poss {leg} leg")])


def vp_tiptoe(rng, p):
    n = p["count"]
    cnt = count_adv(rng, n)
    return _pick(rng, [_join("{rise}", "up onto $poss toes", cnt), _join("{stand}", "on tiptoes", cnt),
                       _join("{go}", "up on $poss toes and back down", cnt)]).replace("onto", "on to")


def vp_torso_twist(rng, p):
    n = p["count"]
    cnt = count_adv(rng, n) if rng.random() < 0.5 else ""
    return _pick(rng, [_join("{twist}", "$poss torso from side to side", cnt),
                       _join("{twist}", "$poss upper body left and right", cnt),
                       _join("{rotate}", "$poss torso from side to side", cnt)])


def vp_idle(rng, p):
    dur = "for a few seconds" if p["duration"] > 2.5 and rng.random() < 0.6 else ""
    return _pick(rng, [_join("{stand}", "still", dur), _join("{stand}", "in place", dur), _join("{wait}", dur),
                       _join("{stand}", "idle/ADJ", dur), _join("{pause}", "for a moment")])


def _hand_phrase(rng, hand, noun="hand"):
    if hand == "both":
        return _pick(rng, [f"both {noun}s", f"both {noun}s", f"$poss {noun}s"])
    return _pick(rng, [f"$poss {hand} {noun}", f"$poss {hand} {noun}", f"the {hand} {noun}"])


def vp_wave(rng, p):
    n = p["count"]
    hp = _hand_phrase(rng, p["hand"])
    cnt = count_adv(rng, n) if rng.random() < 0.7 else ""
    return _pick(rng, [_join("{wave}", hp, cnt), _join("{wave}", "with", hp, cnt), _join("{wave}", hp, cnt)])


def vp_raise_arm(rng, p):
    ap = _hand_phrase(rng, p["hand"], "arm")
    it = "them" if p["hand"] == "both" else "it"
    d = p["direction"]
    where = {"forward": _pick(rng, ["forward", "in front of $self", "straight forward", "to the front"]),
             "sideways": _pick(rng, ["to the side", "out to the side", "sideways"]),
             "overhead": _pick(rng, ["over $poss head", "above $poss head", "up high", "overhead/ADV"])}[d]
    if p["hand"] == "both" and d == "sideways":
        where = _pick(rng, ["out to the sides", "sideways", "to the sides"])
    verb = _pick(rng, ["{raise}", "{raise}", "{lift}"])
    down = _pick(rng, ["", "", f"and then {{lower}} {it}".replace("them", "them/PRON"), f"and {{put}} {it} down".replace("them", "them/PRON")])
    return _join(verb, ap, where, down)


def vp_clap(rng, p):
    n = p["count"]
    cnt = count_adv(rng, n, optional_one=False) if rng.random() < 0.8 else ""
    return _pick(rng, [_join("{clap}", cnt), _join("{clap}", "$poss hands", cnt), _join("{clap}", "$poss hands together", cnt)])


def vp_punch(rng, p):
    n, hand = p["count"], p["hand"]
    cnt = count_adv(rng, n)
    if hand == "both":
        return _pick(rng, [_join("{punch}", "with both fists alternately", cnt),
                           _join("{throw}", num(rng, n) if n > 1 else "a", plural("punch", n), "with both hands", "alternately" if n > 1 else ""),
                           _join("{punch}", "forward", "with both hands", cnt)])
    return _pick(rng, [_join("{punch}", f"with $poss {hand} fist", cnt), _join("{punch}", f"forward with $poss {hand} hand", cnt),
                       _join("{throw}", num(rng, n) if n > 1 else "a", f"{hand}/ADJ", plural("punch", n)),
                       _join("{punch}", f"with the {hand} hand", cnt)])


def vp_throw(rng, p):
    hand = p["hand"]
    return _pick(rng, [_join("{throw}", "something overhand", f"with $poss {hand} hand"),
                       _join("{throw}", f"a ball overhand with $poss {hand} arm"),
                       _join("{make}", f"an overhand throw with the {hand} hand".replace("overhand throw", "overhand/ADJ throw/NOUN")),
                       _join("{throw}", "overhand", f"with the {hand} hand")])


def vp_look_around(rng, p):
    n = p["count"]
    first = p["first"]
    other = "right" if first == "left" else "left"
    cnt = "twice" if n == 2 and rng.random() < 0.5 else ""
    return _pick(rng, [_join("{look}", "around", cnt), _join("{look}", f"to the {first} and then to the {other}", cnt),
                       _join("{look}", f"{first} and {other}", cnt), _join("{turn}", "$poss head to {look:base} around")])


def vp_stretch(rng, p):
    hold = "for a moment" if p["hold"] > 1.5 and rng.random() < 0.5 else ""
    return _pick(rng, [_join("{stretch}", "$poss arms over $poss head", hold),
                       _join("{stretch}", "$poss arms up", hold), _join("{stretch}", "both arms above $poss head", hold),
                       _join("{reach}", "up high with both arms and {stretch}", hold)])


def vp_shrug(rng, p):
    cnt = count_adv(rng, p["count"])
    return _pick(rng, [_join("{shrug}", cnt), _join("{shrug}", "$poss shoulders", cnt)])


def vp_arm_circles(rng, p):
    n = p["count"]
    d = p["direction"]
    way = d if rng.random() < 0.6 else ""
    hp = _hand_phrase(rng, p["hand"], "arm")
    return _pick(rng, [_join("{circle}", hp, way, count_adv(rng, n)),
                       _join("{make}", num(rng, n) if n > 1 else "a", way, plural("circle", n), "with", hp),
                       _join("{do}", "arm/NOUN circles", way, "with", hp)])


VP = {
    "walk": lambda r, p: vp_gait(r, p, "walk"), "jog": lambda r, p: vp_gait(r, p, "jog"),
    "run": lambda r, p: vp_gait(r, p, "run"), "side_step": vp_side_step, "turn": vp_turn, "spin": vp_spin,
    "jump": vp_jump, "hop": vp_hop, "jumping_jacks": vp_jumping_jacks, "march": vp_march, "stomp": vp_stomp,
    "squat": vp_squat, "crouch": vp_crouch, "kneel": vp_kneel, "sit_down": vp_sit, "bow": vp_bow,
    "touch_toes": vp_touch_toes, "lean": vp_lean, "lunge": vp_lunge, "balance": vp_balance, "kick": vp_kick,
    "tiptoe": vp_tiptoe, "torso_twist": vp_torso_twist, "idle": vp_idle, "wave": vp_wave,
    "raise_arm": vp_raise_arm, "clap": vp_clap, "punch": vp_punch, "throw": vp_throw,
    "look_around": vp_look_around, "stretch": vp_stretch, "shrug": vp_shrug, "arm_circles": vp_arm_circles,
}

# Lemmas of which at least one names the action in any of its captions.
ACTION_LEMMAS = {
    "walk": {"walk", "stroll", "take"}, "jog": {"jog", "trot"}, "run": {"run", "sprint", "dash"},
    "side_step": {"sidestep", "step", "shuffle"}, "turn": {"turn"}, "spin": {"spin", "twirl"},
    "jump": {"jump", "leap"}, "hop": {"hop"}, "jumping_jacks": {"jack"}, "march": {"march"}, "stomp": {"stomp"},
    "squat": {"squat"}, "crouch": {"crouch"}, "kneel": {"kneel", "knee"}, "sit_down": {"sit"}, "bow": {"bow"},
    "touch_toes": {"toe"}, "lean": {"lean", "bend", "tilt"}, "lunge": {"lunge"},
    "balance": {"balance", "stand"}, "kick": {"kick"}, "tiptoe": {"toe", "tiptoe"},
    "torso_twist": {"twist", "rotate"}, "idle": {"stand", "wait", "pause"}, "wave": {"wave"},
    "raise_arm": {"raise", "lift"}, "clap": {"clap"}, "punch": {"punch"}, "throw": {"throw"},
    "look_around": {"look"}, "stretch": {"stretch"}, "shrug": {"shrug"}, "arm_circles": {"circle"},
}


def describe_action(action: Action, rng: np.random.Generator) -> str:
    """A verb-phrase template for one action (verbs in {}; see `_w`)."""
    return VP[action.name](rng, action.params)


# --------------------------------------------------------------------------
# sentences

def _clause(rng, action: Action) -> tuple[str, str | None]:
    base = describe_action(action, rng)
    if action.upper is None:
        return base, None
    return base, describe_action(action.upper, rng)


def _with_upper(rng, base: str, upper: str, form: str, subj_first: bool) -> list[tuple[str, str]]:
    """Parts (template, form) for 'base while upper-ing' and variants."""
    style = int(rng.integers(0, 4))
    if style == 0:
        return [(base, form), ("while", None), (upper, "ing")]
    if style == 1:
        return [(base, form), (",", None), (upper, "ing")]
    if style == 2:
        return [(upper, form), ("while", None), (base, "ing")]
    return [(base, form), ("and", None), (upper, form), ("at the same time", None)]


def _realise(parts, subj) -> list:
    toks = []
    for text, form in parts:
        toks += _w(text, form or "3sg", subj)
    # "left"/"right": ADJ before a noun ("his left hand"), NOUN after a determiner ("to the left"), else ADV
    for i, (surface, lemma, pos) in enumerate(toks):
        if surface in ("left", "right") and pos == "ADJ":
            nxt = toks[i + 1][2] if i + 1 < len(toks) else None
            prv = toks[i - 1][2] if i > 0 else None
            new = "ADJ" if nxt == "NOUN" else ("NOUN" if prv == "DET" else "ADV")
            toks[i] = Tok((surface, lemma, new))
    return toks


def _sentence(rng, program: Program) -> list:
    subj = _subject(rng)
    form = "3sg" if subj.number == "sg" or subj.text not in ("they",) else "base"
    subj_tokens = subj.text
    pron_form = "base" if subj.pron == "they" else "3sg"
    clauses = [_clause(rng, a) for a in program.actions]
    k = len(clauses)

    def vp(i, f):
        base, up = clauses[i]
        if up is None:
            return [(base, f)]
        return _with_upper(rng, base, up, f, True)

    def subject_parts():
        return [(subj_tokens, None)]

    parts = []
    if k == 1:
        base, up = clauses[0]
        if up is not None and rng.random() < 0.25:
            parts = [("while", None), (base, "ing"), (",", None)] + subject_parts() + [(up, form)]
        else:
            parts = subject_parts() + vp(0, form)
    else:
        style = int(rng.integers(0, 6))
        if k == 2 and style == 0 and clauses[0][1] is None:
            parts = [("after", None), (clauses[0][0], "ing"), (",", None)] + subject_parts() + vp(1, form)
        elif k == 2 and style == 1 and clauses[1][1] is None:
            parts = subject_parts() + vp(0, form) + [("before", None), (clauses[1][0], "ing")]
        elif style == 2:
            parts = subject_parts() + vp(0, form)
            for i in range(1, k):
                parts += [(".", None), (_pick(rng, ["after that ,", "then", "next ,", "afterwards ,"]), None),
                          (subj.pron, None)] + vp(i, pron_form)
        elif style == 3 and k >= 3:
            parts = [("first ,", None)] + subject_parts() + vp(0, form)
            for i in range(1, k - 1):
                parts += [(",", None), ("then", None)] + vp(i, form)
            parts += [(",", None), ("and finally", None)] + vp(k - 1, form)
        else:
            parts = subject_parts() + vp(0, form)
            for i in range(1, k):
                conn = _pick(rng, [", then", "and then", ", and then", ", then"]) if i == k - 1 else \
                    _pick(rng, [", then", ",", "and then"])
                parts += [(conn, None)] + vp(i, form)
    return _realise(parts, subj)


_FIX_POS = {"that": "PRON", "one": "NUM"}


def render_tokens(toks) -> tuple[str, str]:
    """(caption text, tagged tokens) from grammar tokens."""
    words = []
    tags = []
    for surface, lemma, pos in toks:
        if pos == "PUNCT":
            if words:
                words[-1] = words[-1] + surface
            continue
        words.append(surface)
        if not surface.isalpha():
            continue
        if pos in ("NOUN", "VERB") and surface != "left":
            word = lemma
        else:
            word = surface
        tags.append(f"{word}/{pos}")
    text = " ".join(words).replace(",.", ".").replace(" ,", ",")
    return text, " ".join(tags)


def caption_program(program, rng: np.random.Generator, n: int = 3) -> list[tuple[str, str]]:
    """`n` different captions of a program: (caption text, 'word/POS ...' tokens)."""
    program = validate_program(program)
    out = []
    seen = set()
    for attempt in range(40 * n):
        toks = _sentence(rng, program)
        text, tagged = render_tokens(toks)
        text = " ".join(text.split())
        if text.endswith(","):
            text = text[:-1]
        if rng.random() < 0.8 and not text.endswith("."):
            text += "."
        key = text.rstrip(".")
        if key in seen:
            continue
        seen.add(key)
        out.append((text, tagged))
        if len(out) == n:
            break
    return out


def caption_lines(captions) -> str:
    """HumanML3D texts/ID.txt content."""
    return "".join(f"{c}#{t}#0.0#0.0\n" for c, t in captions)


def caption_lemmas(tagged: str) -> set[str]:
    return {t.rsplit("/", 1)[0] for t in tagged.split()}
