"""Algorithm 1 labels: E2-best candidate of the library, content-addressed cache, evolution."""
from __future__ import annotations

import numpy as np
import pytest

from fusionlib import classical, metrics
from fusionlib.nets import labels as L

LIB = ["average", "lp"]


def _pairs(n=2, size=48, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.random((1, size, size)).astype(np.float32)
        a = base.copy()
        a[:, :, : size // 2] = 0.5 * a[:, :, : size // 2]  # two differently degraded views
        b = base.copy()
        b[:, : size // 2] = 1.0 - 0.3 * b[:, : size // 2]
        out.append([a, b])
    return out


class TestLabelPairs:
    def test_smoke(self, tmp_path):
        pairs = _pairs()
        run = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert len(run.records) == 2 and run.n_computed == 4 and run.n_cached == 0
        for rec, p in zip(run.records, pairs):
            assert rec.method in LIB and rec.label.shape == (1, 48, 48)
            assert "niqe" not in rec.e2_metrics  # 48 px < 192: NIQE dropped, stated in the record

    def test_reference(self, tmp_path):
        """The label is the E2 argmax among the classical outputs (independent recomputation)."""
        pairs = _pairs(1)
        rec = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB).records[0]
        cands = [np.clip(classical.fuse(m, pairs[0]), 0, 1).reshape(1, 48, 48) for m in LIB]
        res = metrics.e2(np.stack(cands), pairs[0], metrics=rec.e2_metrics)
        assert LIB[int(np.argmax(res.scores))] == rec.method
        np.testing.assert_allclose(rec.label, cands[LIB.index(rec.method)], atol=1e-6)

    def test_cache(self, tmp_path):
        pairs = _pairs()
        first = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        again = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert again.n_computed == 0 and again.n_cached == 4
        assert [r.method for r in again.records] == [r.method for r in first.records]
        assert [list(r.scores) for r in again.records] == [LIB, LIB]  # same order from the cache
        # one changed pixel is a different pair: its candidates are recomputed
        pairs[0][0] = pairs[0][0].copy()
        pairs[0][0][0, 0, 0] += 0.01
        third = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert third.n_computed == 2 and third.n_cached == 2
        assert not list(tmp_path.rglob("*.tmp*"))  # atomic writes leave no temporaries

    @staticmethod
    def _damage(entry, damage):
        raw = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(raw[:len(raw) // 2])
        elif damage == "empty":
            entry.write_bytes(b"")
        elif damage == "text":
            entry.write_text("not an array")
        elif damage == "wrong_shape":
            np.save(entry, np.zeros((1, 8, 8), np.float32))
        elif damage == "out_of_range":
            np.save(entry, np.full((1, 48, 48), 7.0, np.float32))
        else:
            np.save(entry, np.array([object()]), allow_pickle=True)

    @pytest.mark.parametrize("damage", ["truncate", "empty", "text", "wrong_shape", "out_of_range",
                                        "object_array"])
    def test_corrupt_candidate_recomputed(self, tmp_path, damage):
        """The chosen candidate is read (and checked) on every run: a damaged one is recomputed."""
        pairs = _pairs(1)
        first = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        digest = L.pair_digest(pairs[0])
        entry = L._Store(tmp_path).path(digest, first.records[0].method, {})
        self._damage(entry, damage)
        with pytest.warns(RuntimeWarning, match=entry.name):
            again = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert again.n_computed == 1 and again.n_cached == 1
        assert again.records[0].method == first.records[0].method
        np.testing.assert_array_equal(again.records[0].label, first.records[0].label)
        assert L._read_candidate(entry, (48, 48)).shape == (1, 48, 48)  # rewritten, valid

    def test_corrupt_unchosen_candidate_read_when_needed(self, tmp_path, monkeypatch):
        """With a cached decision only the chosen candidate is read; a damaged other candidate is found
        and recomputed when it is needed again (here: the decision rescored)."""
        pairs = _pairs(1)
        first = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        other = next(m for m in LIB if m != first.records[0].method)
        entry = L._Store(tmp_path).path(L.pair_digest(pairs[0]), other, {})
        self._damage(entry, "truncate")
        reads = []
        real = L._read_candidate
        monkeypatch.setattr(L, "_read_candidate", lambda p, hw: (reads.append(p), real(p, hw))[1])
        again = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert reads == [L._Store(tmp_path).path(L.pair_digest(pairs[0]), first.records[0].method, {})]
        assert again.n_computed == 0 and again.n_cached == 2
        for d in (tmp_path / "labels").glob("*.json"):
            d.unlink()
        with pytest.warns(RuntimeWarning, match=entry.name):
            third = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert third.n_computed == 1 and third.records[0].scores == first.records[0].scores

    @pytest.mark.parametrize("text", ["", "{", "[]", '{"method": "nope", "scores": {}, "e2_metrics": []}'])
    def test_corrupt_decision_recomputed(self, tmp_path, text):
        pairs = _pairs(1)
        first = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        entry = next((tmp_path / "labels").glob("*.json"))
        entry.write_text(text)
        with pytest.warns(RuntimeWarning, match=entry.name):
            again = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert again.records[0].method == first.records[0].method
        assert again.records[0].scores == first.records[0].scores

    def test_exception(self, tmp_path):
        with pytest.raises(ValueError, match="task"):
            L.label_pairs(_pairs(1), "cvs", cache_dir=tmp_path)
        with pytest.raises(KeyError, match="unknown methods"):
            L.label_pairs(_pairs(1), "medical", cache_dir=tmp_path, methods=["lp", "nope"])
        with pytest.raises(ValueError, match="at least 2"):
            L.label_pairs(_pairs(1), "medical", cache_dir=tmp_path, methods=["lp"])


class TestEvolveLabels:
    def test_invariants(self, tmp_path):
        """O changes exactly where the newcomer has the best E2 score among old + new candidates."""
        pairs = _pairs(3, seed=1)
        run = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        evo = L.evolve_labels(pairs, run, "max", cache_dir=tmp_path)
        assert evo.n_computed == 3  # only the newcomer's candidates
        for old, new, ch in zip(run.records, evo.records, evo.changed):
            best = max(new.scores, key=new.scores.get)
            assert ch == (best == "max")
            assert new.method == ("max" if ch else old.method)
        assert evo.n_changed == sum(evo.changed)
        with pytest.raises(ValueError, match="already in the library"):
            L.evolve_labels(pairs, run, "lp", cache_dir=tmp_path)

    def test_labeler(self, tmp_path):
        lab = L.make_labeler(tmp_path, methods={"medical": LIB})
        out = lab("medical", [tuple(p) for p in _pairs(2)])
        assert len(out) == 2 and out[0].shape == (1, 48, 48)
