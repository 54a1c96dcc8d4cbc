"""The README's Performance table is what ``python -m benchmarks.readme`` writes from the committed
``benchmarks/results.json`` (issue 12: the README can never disagree with a run)."""

import json
from pathlib import Path

from benchmarks import issue, readme

ROOT = Path(__file__).resolve().parents[1]


def _results():
    return json.loads((ROOT / "benchmarks" / "results.json").read_text())


def test_readme_table_is_generated_from_results_json():
    text = (ROOT / "README.md").read_text()
    assert readme.BEGIN in text and readme.END in text
    assert readme.render(text, _results()) == text, "run python -m benchmarks.readme"


def test_every_issue_row_is_in_the_readme_with_its_target():
    text = (ROOT / "README.md").read_text()
    for r in issue.rows(_results()):
        assert f"| {r['what']} | {r['measured']} | {r['target']} | {r['status']} |" in text


def test_status_follows_the_target():
    fake = {"benchmarks": {"bon_law": {"cases": [
        {"case": "X=1000, Y=1000", "ratios": {"x_of_sort": 5.9, "speedup_vs_numpy": 1.9}},
        {"case": "X=1, Y=1000000", "ratios": {"x_of_sort": 6.1, "speedup_vs_numpy": 2.0}},
    ]}}}
    got = {(r["what"], r["status"]) for r in issue.rows(fake)}
    assert ("exact `bon_law` [1000, 1000], N = 16", "met") in got
    assert ("exact `bon_law` [1000, 1000] vs the numpy version", "missed") in got
    assert ("exact `bon_law` [1, 10^6], N = 16", "missed") in got
    assert ("exact `bon_law` [1, 10^6] vs the numpy version", "met") in got
    assert ("MC engine, SFT trials/s vs the per-trial loop", "-") in got
    assert len(issue.rows(fake)) == len(issue.ROWS)


def test_render_replaces_only_the_marked_block():
    old = f"intro\n{readme.BEGIN}\nstale\n{readme.END}\noutro\n"
    new = readme.render(old, {"benchmarks": {}})
    assert new.startswith("intro\n") and new.endswith("\noutro\n") and "stale" not in new
    assert issue.NOT_MEASURED in new


def test_merge_keeps_the_other_rows_and_labels_their_load_note():
    from benchmarks.__main__ import merge

    note = "Measured under load: 1-min load average 3.0 at the start and 3.5 at the end on 2 cores."
    old = {"benchmarks": {"a": {"v": 1}, "b": {"v": 2}},
           "settings": {"date": "D0", "repeats": 7, "quick": False, "load_note": note}}
    new = merge({"benchmarks": {"b": {"v": 3}}, "settings": {"date": "D1", "repeats": 3, "quick": True}}, old)
    assert new["benchmarks"] == {"a": {"v": 1}, "b": {"v": 3}}
    assert new["settings"]["repeats"] == 7 and new["settings"]["merged_from"] == {"date": "D0", "benchmarks": ["a"]}
    assert new["settings"]["load_note"] == "The run of D0: measured under load: 1-min load average 3.0 " \
                                           "at the start and 3.5 at the end on 2 cores."
    # this run's own note first; a note already labelled is not labelled again
    own = merge({"benchmarks": {"c": {}}, "settings": {"date": "D2", "load_note": "Measured under load: x."}},
                {**new, "settings": {**new["settings"], "date": "D1"}})
    assert own["settings"]["load_note"] == "Measured under load: x. The run of D0: measured under load: 1-min " \
                                           "load average 3.0 at the start and 3.5 at the end on 2 cores."
    # no row of the old run kept: its note goes
    gone = merge({"benchmarks": {"a": {}, "b": {}}, "settings": {"date": "D3"}}, old)
    assert "load_note" not in gone["settings"]
