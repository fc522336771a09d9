"""The evaluation table: one row per driver, lip-shape columns, old results still readable."""

from __future__ import annotations

from types import SimpleNamespace

from avatar_agent.train.report import markdown_table


def _m(r: float, **extra: float) -> dict:
    counts = {"n_frames": 100.0, "n_closures": 7.0, "n_rest_frames": 9.0}
    base = {"r": r, "lag_ms": 40.0, "closure": 0.832, "rest": 0.964, "open_shut": 0.052}
    return base | {"jitter": 0.0453} | counts | extra


def test_table_has_lip_shape_columns_and_reads_results_without_them() -> None:
    items = [SimpleNamespace(group="human"), SimpleNamespace(group="piper")]
    new = _m(0.701, rounding_auc=0.87, labiodental_auc=0.845)
    old = _m(0.532)  # a metrics.json written before the lip-shape metrics
    results = {
        "student int8": {"all": new, "human": new, "piper": new},
        "loudness baseline": {"all": old, "human": old, "piper": old},
    }
    table = markdown_table(results, items)
    assert "| rounded vs spread | /f v/ lip tuck | jitter |" in table
    assert (
        "| student int8 | 0.701 | +40 | 83.2 % | 96.4 % | 5.2 % | 0.87 | 0.84 | 0.0453 |" in table
    )
    assert (
        "| loudness baseline | 0.532 | +40 | 83.2 % | 96.4 % | 5.2 % | nan | nan | 0.0453 |"
        in table
    )
    assert table.index("**all** (2 utterances") < table.index("**human** (1 utterances")
    single = markdown_table({"student int8": {"human": new}}, items[:1])
    assert "**all**" not in single and "**human**" in single
