"""AE-Netv2 among its teachers and peers (E2 field) and among published methods."""
import numpy as np
import pandas as pd
import pytest
import torch

import fusionlib as fl
from fusionlib.experiments import aenet_quality as Q
from fusionlib.experiments import aenet_study as S
from fusionlib.experiments.stats import smallest_p_wilcoxon
from fusionlib.nets.labels import library


@pytest.fixture(scope="module")
def field():
    torch.manual_seed(0)
    net = fl.nets.build("aenetv2_gcb").eval()
    splits = {t: s.head(2, 1) for t, s in S.task_splits("smoke", tasks=["multi-focus", "infrared-visible"]).items()}
    return Q.e2_field({"net": net}, splits, skip=("gtf", "cbf"), show_progress=False), splits


class TestE2Field:
    def test_known_value(self, field):
        df, splits = field
        lib = [m for m in library("multi-focus") if m not in ("gtf", "cbf")]
        mf = df[df["task"] == "multi-focus"]
        assert set(mf["method"]) == {*lib, "net"} and len(mf) == len(lib) + 1
        for img, d in df.groupby("image"):
            assert sorted(d["E2_rank"]) == list(range(1, len(d) + 1))          # ranks of one field
            lib_rows = d[d["role"] == "library"]
            assert d["teacher"].iloc[0] == lib_rows.loc[lib_rows["E2"].idxmax(), "method"]
            # E2 agrees with fusionlib.metrics.e2 over the same field, recomputed independently
        ref = splits["multi-focus"].test[0]
        a, b = S.load_pair(ref)
        outs = [np.clip(fl.classical.fuse(m, [a, b]), 0, 1).reshape(a.shape) for m in lib]
        torch.manual_seed(0)
        net = fl.nets.build("aenetv2_gcb").eval()
        e2 = np.asarray(fl.metrics.e2(np.stack(outs + [fl.nets.fuse(net, [a, b])]), [a, b]).scores)
        got = mf[mf["image"] == ref.key].set_index("method").loc[[*lib, "net"], "E2"].to_numpy()
        np.testing.assert_allclose(got, e2, rtol=1e-6)

    def test_cache(self, tmp_path):
        net = fl.nets.build("aenetv2_pp").eval()
        splits = {t: s.head(1, 1) for t, s in S.task_splits("smoke", tasks=["multi-exposure"]).items()}
        a = Q.e2_field({"n": net}, splits, cache_dir=tmp_path, show_progress=False)
        assert len(list(tmp_path.glob("*.json"))) == 1
        b = Q.e2_field({"n": net}, splits, cache_dir=tmp_path, show_progress=False)
        pd.testing.assert_frame_equal(a, b)
        with torch.no_grad():  # other weights: another cache entry
            next(net.parameters()).add_(0.1)
        Q.e2_field({"n": net}, splits, cache_dir=tmp_path, show_progress=False)
        assert len(list(tmp_path.glob("*.json"))) == 2


class TestE2Summary:
    def test_known_value(self):
        rows = []
        for i in range(6):
            rows += [{"task": "t", "image": f"i{i}", "method": "net", "E2": 1.0 + i, "E2_rank": 1, "n_field": 3,
                      "teacher": "lp"},
                     {"task": "t", "image": f"i{i}", "method": "lp", "E2": 0.5 + i, "E2_rank": 2, "n_field": 3,
                      "teacher": "lp"}]
        s = Q.e2_summary(pd.DataFrame(rows), "net").loc["t"]
        assert s["pairs"] == 6 and s["mean E2 rank"] == 1 and s["median diff"] == 0.5 and s["wins vs teacher"] == 6
        assert s["p (Wilcoxon)"] == pytest.approx(smallest_p_wilcoxon(6)) == pytest.approx(2 / 64)
        assert not s["below teacher"] and s["verdict"] == "significantly above its teacher"
        few = pd.DataFrame(rows[:10])                              # n = 5: smallest p 0.0625
        assert Q.e2_summary(few, "net").loc["t", "verdict"] == "not testable at this n"

    def test_exception(self):
        df = pd.DataFrame([{"task": "t", "image": "i", "method": "lp", "E2": 1.0, "E2_rank": 1, "n_field": 1,
                            "teacher": "lp"}])
        with pytest.raises(KeyError, match="no rows of 'net'"):
            Q.e2_summary(df, "net")


class TestPublishedScores:
    def test_real(self, data_root):
        splits = {t: s.head(None, 1) for t, s in S.task_splits("standard", root=data_root).items()}
        df = Q.published_scores(splits, root=data_root, methods=["GFF", "IFCNN"], names=("en", "ssim"),
                                show_progress=False)
        assert set(df["source"]) == {"vifb", "lytro"}
        assert set(df["method"]) == {"GFF", "IFCNN"} and len(df) == 4
        assert df[["en", "ssim"]].notna().all().all() and df["ssim"].between(0, 1).all()
