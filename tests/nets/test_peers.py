"""Published peers: architecture counts without weights; with weights, IFCNN's own results."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import fusionlib.nets as nets
from fusionlib.nets import peers


class TestArchitectures:
    def test_known_value(self):
        """Parameter counts of the published files (shared/notes/peers.md)."""
        assert nets.build("ifcnn").parameter_count() == 83_587
        assert nets.build("densefuse").parameter_count() == 74_193
        assert nets.build("deepfuse").parameter_count() == 316_976

    @pytest.mark.parametrize("name", ["ifcnn", "densefuse", "deepfuse"])
    def test_shape(self, name):
        m = nets.build(name).eval()
        c = 3 if name == "ifcnn" else 1
        with torch.no_grad():
            y = m([torch.rand(2, c, 17, 21), torch.rand(2, c, 17, 21)])
        assert y.shape == (2, c, 17, 21)

    def test_deepfuse_flip(self, tmp_path):
        """Lasagne true convolution: an asymmetric impulse kernel must be flipped on load."""
        arrs = {f"arr_{i}": np.zeros(s, np.float32) for i, s in enumerate(nets.DeepFuse._SHAPES)}
        arrs["arr_0"][0, 0, 0, 2] = 1.0  # top-right tap in the stored (convolution) kernel
        np.savez(tmp_path / "w.npz", **arrs)
        m = nets.DeepFuse().load_npz(tmp_path / "w.npz")
        x = torch.zeros(1, 1, 5, 5)
        x[0, 0, 2, 2] = 1.0
        y = torch.nn.functional.conv2d(x, m.convs[0].weight.detach(), padding=1)
        # true convolution with a kernel whose top-right tap is set shifts the impulse up-right
        assert float(y[0, 0, 1, 3]) == 1.0

    def test_exception(self, tmp_path):
        with pytest.raises(nets.WeightsUnavailable, match="never shipped"):
            nets.weights_path("ifcnn", root=tmp_path)
        with pytest.raises(ValueError, match="variant"):
            nets.weights_path("ifcnn", "median", root=tmp_path)
        with pytest.raises(ValueError, match="strategy"):
            nets.DenseFuse(strategy="max")


@pytest.fixture(scope="module")
def weights_root(request):
    root = request.getfixturevalue("data_root")
    if not (root / "weights" / "SHA256SUMS").is_file():
        pytest.skip("published peer weights absent (<data root>/weights)")
    return root


class TestLoadPeer:
    @pytest.mark.parametrize("name", ["ifcnn", "densefuse", "deepfuse"])
    def test_smoke(self, name, weights_root):
        m = nets.load_peer(name, root=weights_root)
        assert not m.training
        a = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
        y = nets.fuse_peer(name, [a, a.T.copy()], model=m)
        assert y.shape == (32, 32) and 0.0 <= y.min() and y.max() <= 1.0

    def test_checksum_mismatch(self, weights_root, tmp_path):
        (tmp_path / "weights" / "ifcnn").mkdir(parents=True)
        (tmp_path / "weights" / "ifcnn" / "IFCNN-MAX.pth").write_bytes(b"not the weights")
        (tmp_path / "weights" / "SHA256SUMS").write_text(
            (weights_root / "weights" / "SHA256SUMS").read_text())
        with pytest.raises(ValueError, match="SHA-256"):
            nets.weights_path("ifcnn", "max", root=tmp_path)


class TestIFCNNReference:
    @pytest.mark.realdata
    @pytest.mark.parametrize("pair_id", ["Camp", "Road2", "c01", "c05"])
    def test_reference(self, pair_id, weights_root):
        """Our IFCNN port + published MAX weights reproduces IFCNN's own fused PNGs
        (uzeful/IFCNN @ 8fe59c2 Results, copied in ifcnn_testsets/results) within +-1 DN."""
        from PIL import Image
        base = weights_root / "ifcnn_testsets"
        if not base.is_dir():
            pytest.skip("ifcnn_testsets absent")
        row = next(r for r in csv.DictReader(open(base / "pairs.csv")) if r["pair_id"] == pair_id)
        a = np.asarray(Image.open(base / row["a"]).convert("L"))
        b = np.asarray(Image.open(base / row["b"]).convert("L"))
        ref = np.asarray(Image.open(base / row["ifcnn_result"])).astype(np.float64)
        m = nets.load_peer("ifcnn", "max", root=weights_root)
        out = np.round(nets.fuse_peer("ifcnn", [a, b], model=m, quantize=True) * 255.0)
        diff = np.abs(out - ref)
        assert diff.max() <= 1.0
        assert (diff > 0).mean() < 0.01


class TestIFCNNMultiExposure:
    @pytest.mark.realdata
    @pytest.mark.slow
    @pytest.mark.parametrize("seq", ["door", "window"])
    def test_reference(self, seq, weights_root):
        """IFCNN-MEAN + the ported CLAHE step reproduce IFCNN's own multi-exposure PNGs
        (uzeful/IFCNN @ 8fe59c2 Results): PSNR > 60 dB, at most 4 grey levels, < 0.5 % of the values
        more than 1 level off; without the CLAHE step the result is far off (< 25 dB)."""
        from PIL import Image
        base = weights_root / "ifcnn_testsets"
        if not base.is_dir():
            pytest.skip("ifcnn_testsets absent")
        row = next(r for r in csv.DictReader(open(base / "pairs.csv")) if r["pair_id"] == seq)
        srcs = [np.asarray(Image.open(base / p).convert("YCbCr")).transpose(2, 0, 1).copy()
                for p in row["a"].split(";")]
        ref = np.asarray(Image.open(base / row["ifcnn_result"]).convert("RGB")).astype(np.float64)
        m = nets.load_peer("ifcnn", "mean", root=weights_root)

        def psnr(enhance):
            out = np.round(nets.ifcnn_multi_exposure(srcs, model=m, input_space="ycbcr", enhance=enhance) * 255)
            d = out.transpose(1, 2, 0) - ref
            return 10 * np.log10(255 ** 2 / np.mean(d ** 2)), np.abs(d)

        p, d = psnr(True)
        assert p > 60 and d.max() <= 4 and (d > 1).mean() < 0.005
        assert psnr(False)[0] < 25

    def test_exception(self):
        a = np.zeros((3, 16, 16), np.float32)
        m = nets.build("ifcnn").eval()
        with pytest.raises(ValueError, match="input_space"):
            nets.ifcnn_multi_exposure([a, a], model=m, input_space="lab")
        with pytest.raises(ValueError, match="1 or 3 channels"):
            nets.ifcnn_multi_exposure([np.zeros((2, 16, 16), np.float32)] * 2, model=m)
