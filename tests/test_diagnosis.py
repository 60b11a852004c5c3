"""The diagnosis table (irgmotion/bench/diagnosis.py): every step's share with its interval, and the slots that
wrong motion descriptions miss."""
from irgmotion.bench.diagnosis import diagnosis_markdown


def share(rate, n=100):
    return {"n": n, "rate": rate, "ci95": [rate - 0.05, rate + 0.05]}


def test_the_table_names_each_step_and_the_missed_slots():
    verdict = {"perception": {"readable": share(1.0), "goal_restated_exactly": share(0.7),
                              "motion_described_exactly": share(0.44), "both_exact": share(0.39),
                              "motion_description_errors": {"wrong_count": 0.21, "amplitude": 0.12}},
               "judgement": {"level_right": share(0.78)}}
    report = {"assessment_style": "aligned", "verdicts": {"model": verdict, "rule": verdict}}
    text = diagnosis_markdown(report, "irgmotion diagnose --pairs 100")
    assert "| perception: motion described exactly | 0.440 (0.390-0.490, n=100) | 0.440 (0.390-0.490, n=100) |" in text
    assert "| stop decision: asks for a refinement exactly when due | – | – |" in text
    assert text.rstrip().endswith("wrong_count 0.210, amplitude 0.120.")
