"""Goal reading before the model (reason/goal_text.py): typos of the model's caption words are read as those words,
real words never become other words, numeric shorthands become the captions' wording; and the reasoner reports what it
changed."""
import pytest

from irgmotion.reason.goal_text import GoalReader

WORDS = ["a", "person", "walk", "walks", "jog", "run", "jump", "march", "sidestep", "right", "left", "wave", "hand",
         "toes", "of", "holds", "times", "twice", "once", "degrees", "turn", "and", "then", "backwards"]


@pytest.mark.parametrize("goal, read", [
    ("wlak backwards", "walk backwards"),          # swapped neighbours
    ("jogg to the rihgt", "jog to the right"),     # a doubled letter; swapped neighbours
    ("sidestp left", "sidestep left"),             # a letter dropped inside a long word
    ("Jmup then trun", "Jump then turn"),          # the user's capital stays
    ("side step right x4", "side step right 4 times"),
    ("spin left 2x and jump x1", "spin left twice and jump once"),
    ("turn left 45°", "turn left 45 degrees"),
])
def test_typos_and_shorthands_are_read_as_the_captions_write_them(goal, read):
    text, notes = GoalReader(WORDS).read(goal)
    assert text == read and notes


@pytest.mark.parametrize("goal", [
    "toss the ball",        # one substitution away from "toes": never corrected
    "heads off to the left",  # "off" is a word of its own, not a doubled "of"
    "hold it",              # a missing last letter is another form of the word ("holds"), not a typo
    "a person walks",       # known words stay
    "xylophone 4 times",    # nothing close
])
def test_real_words_are_left_alone(goal):
    assert GoalReader(WORDS).read(goal) == (goal, [])


def test_an_ambiguous_typo_is_left_alone():
    assert GoalReader(["sale", "seal"]).correct("sael") is None  # two known words one swap away


def test_a_model_without_caption_words_gets_only_the_shorthands(tmp_path):
    reader = GoalReader.for_llm_dir(tmp_path)
    assert reader.read("wlak 2x") == ("wlak twice", [reader.read("wlak 2x")[1][0]])
    (tmp_path / "caption_words.json").write_text('{"words": "walk"}')
    with pytest.raises(ValueError, match="caption_words.json"):
        GoalReader.for_llm_dir(tmp_path)


def test_a_bundle_with_malformed_caption_words_is_refused_by_the_bundle_check(tmp_path):
    import shutil

    from irgmotion.reason.bundle import EMBEDDED, BundleError, check_bundle
    if not (EMBEDDED / "manifest.json").is_file():
        pytest.skip("no embedded bundle")
    bundle = tmp_path / "bundle"
    shutil.copytree(EMBEDDED, bundle)
    (bundle / "llm" / "caption_words.json").write_text("{not json")
    with pytest.raises(BundleError, match="caption_words.json: not JSON"):
        check_bundle(bundle)
