"""evaluation.id_sim_reuse: an earlier report's ID-SIM rows serve a fit whose renders are gone only if they are that
fit's (same PSNR at every test frame); a refit or another fit never inherits them."""

import pandas as pd

from evaluation.id_sim_reuse import earlier_rows, reused_id_sim
from evaluation.metrics import ROW_COLUMNS


def _rows(psnr: list[float], id_sim: list[float] | None = None, method: str = "GASP (ours)") -> pd.DataFrame:
    key = {"subject": "rp010", "setting": "monocular", "method": method}
    rows = [{**key, "camera": f"cam{k}", "frame": k, "metric": "psnr", "value": v, "backend": "masked_mse"}
            for k, v in enumerate(psnr)]
    rows += [{**key, "camera": "front", "frame": 10 + k, "metric": "id_sim", "value": v, "backend": "dlib"}
             for k, v in enumerate(id_sim or [])]
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def test_the_same_fit_gets_its_earlier_id_sim_rows():
    earlier = pd.concat([_rows([17.25, 18.5], [0.81, 0.83]), _rows([12.0, 13.0], [0.5, 0.6], method="other")])
    kept = reused_id_sim(_rows([17.25, 18.5]), earlier)
    assert kept is not None and kept.value.tolist() == [0.81, 0.83] and (kept.method == "GASP (ours)").all()


def test_a_refit_another_fit_or_other_frames_get_nothing():
    earlier = _rows([17.25, 18.5], [0.81, 0.83])
    assert reused_id_sim(_rows([17.25, 18.5 + 1e-6]), earlier) is None  # a refit: not bit-identical
    assert reused_id_sim(_rows([17.25]), earlier) is None  # fewer test frames
    assert reused_id_sim(_rows([17.25, 18.5], method="other"), earlier) is None
    assert reused_id_sim(_rows([17.25, 18.5]), _rows([17.25, 18.5])) is None  # no ID-SIM rows were kept
    assert reused_id_sim(_rows([17.25, 18.5]), pd.DataFrame(columns=ROW_COLUMNS)) is None


def test_earlier_rows_reads_every_table_once(tmp_path):
    assert earlier_rows(tmp_path).empty
    both = _rows([17.25, 18.5], [0.81, 0.83])
    both.to_parquet(tmp_path / "table1_rows.parquet")
    both.to_parquet(tmp_path / "table3_rows.parquet")  # Full is Table 1's monocular fit: in both files
    assert len(earlier_rows(tmp_path)) == len(both)
