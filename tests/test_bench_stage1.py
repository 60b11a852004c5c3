from irgmotion.bench.stage1 import description_accuracy, level_confusion, wilson_interval

TRUTH = ("The goal asks for: jog forward 4 steps. The motion shows: march in place 3 steps, then clap 5 times. "
         "The problem: it adds 'clap 5 times'. Alignment is poor. The goal is not carried out.")


def test_description_accuracy_scores_each_restatement_separately():
    wrong_motion = TRUTH.replace("clap 5 times.", "clap 4 times.")
    right = TRUTH.replace(" The problem: it adds 'clap 5 times'.", "")
    scores = description_accuracy([wrong_motion, right, "Alignment is poor."], [TRUTH] * 3)
    assert scores == {"goal_restated_exactly": 2 / 3, "motion_described_exactly": 1 / 3,
                      "motion_description_errors": {"wrong_count": round(1 / 3, 4), "unreadable": round(1 / 3, 4)}}
    assert description_accuracy(["x"], ["Alignment is poor. Old-style assessment."]) == {}


def test_wrong_motion_descriptions_are_counted_by_the_slot_they_miss():
    def said(goal, motion):
        return f"The goal asks for: {goal}. The motion shows: {motion}. Alignment is perfect."
    truth = [said("jump in place twice", m) for m in ("jump in place twice", "wave with the right hand once",
                                                      "walk forward 4 steps", "squat once", "clap twice")]
    answers = [said("jump in place twice", m) for m in ("jump in place 3 times", "wave with the left hand once",
                                                        "walk forward 5 steps", "squat once, then clap once",
                                                        "clap twice")]
    errors = description_accuracy(answers, truth)["motion_description_errors"]
    assert errors == {"wrong_count": 0.2, "wrong_side": 0.2, "within_tolerance": 0.2, "extra": 0.2}


def test_level_accuracy_is_also_scored_on_exactly_described_pairs():
    wrong_motion = TRUTH.replace("clap 5 times.", "clap 4 times.")
    scores = description_accuracy([TRUTH, TRUTH, wrong_motion], [TRUTH] * 3, levels=[0, 1, 0], truth_levels=[0, 0, 0])
    assert scores["pairs_described_exactly"] == 2
    assert scores["level_accuracy_when_described_exactly"] == 0.5


def test_level_confusion_counts_each_stated_level_per_true_level():
    said = [3, 2, None, 0, 0]
    truth = [3, 3, 3, 0, 1]
    conf = level_confusion(said, truth)
    assert conf["perfect"] == {"poor": 0, "partial": 0, "close": 1, "perfect": 1, "none": 1}
    assert conf["poor"]["poor"] == 1 and conf["partial"]["poor"] == 1
    assert "close" not in conf  # no pair had that true level
    assert sum(sum(row.values()) for row in conf.values()) == len(truth)


def test_wilson_interval_brackets_the_rate_and_narrows_with_more_pairs():
    lo, hi = wilson_interval(265, 400)
    assert lo < 265 / 400 < hi and 0.60 < lo and hi < 0.71
    lo4, hi4 = wilson_interval(1060, 1600)
    assert hi4 - lo4 < (hi - lo) * 0.6
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] <= 1.0 + 1e-12
    assert wilson_interval(0, 0) == (0.0, 1.0)
