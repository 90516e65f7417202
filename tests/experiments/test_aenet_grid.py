"""The committed AE-Netv2 grid: entries, training, provenance, stale and missing checkpoints."""
import json

import numpy as np
import pytest
import torch

from fusionlib.experiments import aenet_grid as G
from fusionlib.experiments import aenet_study as S

TINY = {**G.RECIPE, "patch": 16, "n_patches": 8, "batch_size": 4, "step_stages": [[6, 1e-3]],
        "val_every": 2, "patience": 1}


def _data(tasks=("multi-focus",)):
    rng = np.random.default_rng(0)

    def triple():
        a, b = rng.random((2, 1, 24, 24), dtype=np.float32)
        return a, b, np.maximum(a, b)
    train = {t: [(f"{t}/p{i}", triple()) for i in range(3)] for t in tasks}
    val = {t: [(f"{t}/v0", triple())] for t in tasks}
    labels = {t: [{"pair": k, "role": "train", "method": "lp", "scores": {"lp": 1.0}} for k, _ in train[t]]
              for t in tasks}
    return G.GridData(train, val, labels, {t: "synthetic" for t in tasks}, 0.0)


class TestGrid:
    def test_entries(self):
        g = G.grid()
        names = [e.name for e in g]
        assert len(names) == len(set(names)) == 3 * (len(G.BLOCKS) + 2 + len(S.TASKS))
        assert names[0] == "aenetv2_gcb_mixed_s0"
        assert {e.seed for e in g[:14]} == {0}          # seed 0 of everything first
        assert {e.train for e in g} == {"mixed", *S.TASKS}
        assert G.GridEntry("aenetv2_gcb", "medical", 0).tasks == ("medical",)
        assert G.GridEntry("aenetv2_gcb", "mixed", 0).tasks == S.TASKS


class TestTrainEntry:
    def test_roundtrip(self, tmp_path):
        e = G.GridEntry("aenetv2_gcb", "multi-focus", 0)
        data = _data()
        meta = G.train_entry(e, data, tmp_path, recipe=TINY, command="test")
        assert (tmp_path / f"{e.name}.pt").is_file() and not (tmp_path / f"{e.name}.train.pt").exists()
        on_disk = json.loads((tmp_path / f"{e.name}.json").read_text())
        assert on_disk["labels_digest"] == data.digest and on_disk["parameters"] == 5378
        assert on_disk["validation_pairs"] == {"multi-focus": ["multi-focus/v0"]}
        assert 0 < meta["steps"] <= 6 and meta["val_curve"]
        net, m = G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path, recipe=TINY)
        assert m["sha256"] and m["history"]["step_loss"]
        # same seed, same data, same recipe: the same weights (training is deterministic on CPU)
        (tmp_path / "again").mkdir()
        G.train_entry(e, data, tmp_path / "again", recipe=TINY)
        net2, _ = G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path / "again", recipe=TINY)
        for (k, v), v2 in zip(net.state_dict().items(), net2.state_dict().values()):
            assert torch.equal(v, v2), k

    def test_missing_and_stale(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="aenet_grid --only aenetv2_gcb_multi-focus_s0"):
            G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path, recipe=TINY)
        assert G.committed("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path) is None
        G.train_entry(G.GridEntry("aenetv2_gcb", "multi-focus", 0), _data(), tmp_path, recipe=TINY)
        with pytest.raises(G.StaleCheckpoint, match="another recipe.*--only aenetv2_gcb_multi-focus_s0"):
            G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path, recipe={**TINY, "patience": 2})
        (tmp_path / "labels.json").write_text(json.dumps({"digest": "0" * 16}))
        with pytest.raises(G.StaleCheckpoint, match="other labels"):
            G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path, recipe=TINY)

    def test_exception(self, tmp_path):
        with pytest.raises(ValueError, match="train"):
            G.load("aenetv2_gcb", "thermal", 0, out_dir=tmp_path)


class TestTrainGrid:
    def test_resume_skips_finished(self, tmp_path, capsys):
        data = _data(("multi-focus", "medical"))
        es = [G.GridEntry("aenetv2_pp", "medical", 0), G.GridEntry("aenetv2_gcb", "multi-focus", 1)]
        metas = G.train_grid(es, data, tmp_path, recipe=TINY)
        assert [m["name"] for m in metas] == [e.name for e in es]
        before = {e.name: (tmp_path / f"{e.name}.pt").stat().st_mtime_ns for e in es}
        capsys.readouterr()
        G.train_grid(es, data, tmp_path, recipe=TINY)
        assert "steps" not in capsys.readouterr().out  # nothing retrained
        assert before == {e.name: (tmp_path / f"{e.name}.pt").stat().st_mtime_ns for e in es}
        assert json.loads((tmp_path / "labels.json").read_text())["digest"] == data.digest


class TestRunStudyCheckpoints:
    def test_committed_network_is_used(self, tmp_path):
        splits = S.task_splits("smoke", tasks=["multi-focus"])
        splits = {t: s.head(2, 1) for t, s in splits.items()}
        G.train_entry(G.GridEntry("aenetv2_gcb", "multi-focus", 0), _data(), tmp_path / "ck", recipe=TINY)

        def lookup(model, train, seed):
            return G.committed(model, train, seed, out_dir=tmp_path / "ck", recipe=TINY) if seed == 0 else None

        def refuse(*a, **k):
            raise AssertionError("the labeler must not run for a committed network")
        cfg = S.StudyConfig(epochs=1, batch_size=2, patch=16, n_patches=4)
        res = S.run_study("t", [S.Variant("gcb", "aenetv2_gcb")], [0], splits, cfg, cache_dir=tmp_path / "c",
                          labeler=refuse, show_progress=False, names=("en",), checkpoints=lookup)
        tr = res.trained[("gcb", 0)]
        assert tr.source == "committed aenetv2_gcb_multi-focus_s0.pt" and tr.cached
        net, _ = G.load("aenetv2_gcb", "multi-focus", 0, out_dir=tmp_path / "ck", recipe=TINY)
        for v, v2 in zip(net.state_dict().values(), tr.model.state_dict().values()):
            assert torch.equal(v, v2)
        assert len(res.scores) == 1


class TestFullRecipe:
    """Item 6's path (Table II's budget on a lent GPU): its recipe, folder, device and commands."""

    def test_recipe(self):
        f = G.FULL_RECIPE
        assert f["patch"] == 128 and f["batch_size"] == 16 and f["skip_methods"] == []
        steps_per_epoch = f["n_patches"] // f["batch_size"]          # 10 + 100 epochs of Table II
        assert f["step_stages"] == [[10 * steps_per_epoch, 1e-3], [100 * steps_per_epoch, 1e-4]]
        assert G.RECIPES == {"standard": G.RECIPE, "full": G.FULL_RECIPE}
        assert G.checkpoint_dir("full").name == "aenet_full" and G.checkpoint_dir().name == "aenet"
        with pytest.raises(ValueError, match="recipe"):
            G.checkpoint_dir("long")

    def test_list_and_missing(self, tmp_path, capsys):
        assert G.main(["--recipe", "full", "--list", "--seeds", "0", "--out", str(tmp_path)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 14 and all(line.endswith("is missing") for line in out)
        with pytest.raises(FileNotFoundError, match="--recipe full"):
            G.load("aenetv2_gcb", "mixed", 0, out_dir=tmp_path, recipe=G.FULL_RECIPE)

    def test_device_recorded(self, tmp_path):
        meta = G.train_entry(G.GridEntry("aenetv2_gcb", "multi-focus", 0), _data(), tmp_path, recipe=TINY,
                             device=torch.device("cpu"))
        assert meta["device"] == "cpu"


class TestQualityCommand:
    def test_missing(self, tmp_path, capsys):
        from fusionlib.experiments import aenet_quality as Q
        assert Q.main(["--recipe", "full", "--checkpoints", str(tmp_path), "--profile", "smoke"]) == 2
        assert "--recipe full" in capsys.readouterr().err

    def test_smoke(self, tmp_path, monkeypatch, capsys):
        """The command scores a grid network among the library on the embedded test pairs and writes
        the per-task table of ``e2_summary``."""
        from fusionlib.experiments import aenet_quality as Q
        G.train_entry(G.GridEntry("aenetv2_gcb", "mixed", 0), _data(S.TASKS), tmp_path / "ck", recipe=TINY)
        monkeypatch.setitem(G.RECIPES, "standard", TINY)
        out = tmp_path / "q.json"
        assert Q.main(["--checkpoints", str(tmp_path / "ck"), "--profile", "smoke", "--device", "cpu",
                       "--cache-dir", str(tmp_path / "c"), "--out", str(out)]) == 0
        res = json.loads(out.read_text())
        assert res["network"] == "aenetv2_gcb_mixed_s0" and res["recipe"] == "standard"
        table = res["table"]
        assert set(table) == set(S.study_splits("smoke")[0])
        for row in table.values():
            assert 1 <= row["mean E2 rank"] <= row["field"] and row["verdict"]
        assert "mean E2 rank" in capsys.readouterr().out
