"""Data root resolution, checksums, download and every kind of bad input, on folders made in tmp_path."""
from __future__ import annotations

import hashlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

import fusionlib as fl
from fusionlib._checks import ShapeError
from fusionlib.data import ChecksumError, DataNotFoundError, PairsFileError
from fusionlib.data import _files
from fusionlib.io import ImageReadError

HEADER = "pair_id,a,b,a_modality,b_modality,width,height,a_mode,b_mode,b_size"


def _write_sums(folder: Path) -> None:
    lines = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(folder).as_posix()}")
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def make_tno(root: Path, n: int = 2, *, rows: list[str] | None = None, size=(24, 32)) -> Path:
    """A tiny fake `tno_cddfuse` folder: 3-channel gray PNGs like the real one."""
    folder = root / "tno_cddfuse"
    (folder / "ir").mkdir(parents=True)
    (folder / "vi").mkdir()
    rng = np.random.default_rng(0)
    h, w = size
    out = [HEADER]
    for k in range(1, n + 1):
        for sub in ("ir", "vi"):
            g = rng.integers(0, 256, (h, w), dtype=np.uint8)
            iio.imwrite(folder / sub / f"{k:02d}.png", np.repeat(g[..., None], 3, axis=2))
        out.append(f"{k:02d},ir/{k:02d}.png,vi/{k:02d}.png,infrared,visible,{w},{h},RGB,RGB,{w}x{h}")
    (folder / "pairs.csv").write_text("\n".join(rows if rows is not None else out) + "\n")
    _write_sums(folder)
    return folder


@pytest.fixture(autouse=True)
def _fresh_cache():
    fl.data.clear_cache()
    yield
    fl.data.clear_cache()


class TestFindRoot:
    @pytest.fixture
    def places(self, tmp_path, monkeypatch):
        env, checkout, cache = (tmp_path / n for n in ("env", "checkout", "xdg"))
        monkeypatch.setenv("FUSIONLIB_DATA", str(env))
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        monkeypatch.setattr(_files, "_checkout_data_dir", lambda: checkout)
        return env, checkout, cache / "fusionlib" / "data"

    def test_order(self, tmp_path, places):
        env, checkout, cache = places
        assert fl.data.find_root() is None
        cache.mkdir(parents=True)
        assert fl.data.find_root() == cache
        checkout.mkdir()
        assert fl.data.find_root() == checkout
        env.mkdir()
        assert fl.data.find_root() == env
        arg = tmp_path / "arg"
        arg.mkdir()
        assert fl.data.find_root(arg) == arg
        assert fl.data.find_root(str(arg)) == arg

    def test_exception(self, tmp_path, places):
        with pytest.raises(DataNotFoundError) as e:
            fl.data.find_root(required=True)
        msg = str(e.value)
        for p in places:
            assert str(p) in msg
        assert "FUSIONLIB_DATA" in msg and "fusionlib.data.download" in msg
        with pytest.raises(DataNotFoundError, match="argument `root`"):
            fl.data.find_root(tmp_path / "missing")
        with pytest.raises(TypeError, match="`root` must be a path"):
            fl.data.find_root(3)

    def test_home_cache(self, monkeypatch, tmp_path):
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        assert _files._cache_dir() == tmp_path / ".cache" / "fusionlib" / "data"

    def test_checkout_location(self):
        assert _files._checkout_data_dir() == Path(fl.__file__).resolve().parents[1].parent / "shared" / "data"

    def test_load_missing_folder(self, tmp_path, places):
        places[0].mkdir()
        with pytest.raises(DataNotFoundError) as e:
            fl.data.load("tno")
        msg = str(e.value)
        assert "tno_cddfuse" in msg and all(str(p) in msg for p in places)
        assert "fusionlib.data.download('tno', root)" in msg

    def test_root_is_the_folder(self, tmp_path):
        folder = make_tno(tmp_path)
        with pytest.raises(DataNotFoundError, match="not the folder itself"):
            fl.data.load("tno", folder)

    def test_load_uses_first_root_with_folder(self, tmp_path, places):
        env, checkout, _ = places
        env.mkdir()
        make_tno(checkout)
        assert fl.data.load("tno").folder == checkout / "tno_cddfuse"


class TestLoadFakeFolder:
    def test_smoke(self, tmp_path):
        make_tno(tmp_path)
        ds = fl.data.load("tno", tmp_path)
        assert len(ds) == 2 and ds.ids == ["01", "02"]
        s = ds["02"]
        assert [a.shape for a in s.sources] == [(1, 24, 32), (1, 24, 32)]   # 3-channel gray -> 1 channel
        assert s.meta["task"] == "infrared-visible" and s.meta["a_modality"] == "infrared"
        raw = iio.imread(tmp_path / "tno_cddfuse" / "ir" / "02.png")[..., 0]
        np.testing.assert_array_equal(ds.get(1, dtype="uint8").sources[0][0], raw)
        np.testing.assert_allclose(s.sources[0][0], raw / 255.0, atol=1e-7)

    def test_lazy(self, tmp_path):
        folder = make_tno(tmp_path)
        (folder / "ir" / "02.png").unlink()
        ds = fl.data.load("tno", tmp_path)        # nothing read at load()
        ds[0]
        with pytest.raises(DataNotFoundError, match="02.png"):
            ds[1]

    def test_checksum_mismatch(self, tmp_path):
        folder = make_tno(tmp_path)
        f = folder / "vi" / "01.png"
        expected = hashlib.sha256(f.read_bytes()).hexdigest()
        g = np.zeros((24, 32, 3), np.uint8)
        iio.imwrite(f, g)
        actual = hashlib.sha256(f.read_bytes()).hexdigest()
        ds = fl.data.load("tno", tmp_path)
        with pytest.raises(ChecksumError) as e:
            ds[0]
        assert str(f) in str(e.value) and expected in str(e.value) and actual in str(e.value)
        assert e.value.expected == expected and e.value.actual == actual
        assert fl.data.load("tno", tmp_path, verify=False)[0].sources[1].max() == 0

    def test_pairs_csv_verified(self, tmp_path):
        folder = make_tno(tmp_path)
        with open(folder / "pairs.csv", "a") as f:
            f.write("\n")
        with pytest.raises(ChecksumError, match="pairs.csv"):
            fl.data.load("tno", tmp_path)

    def test_unlisted_file(self, tmp_path):
        folder = make_tno(tmp_path)
        sums = (folder / "SHA256SUMS").read_text().splitlines()
        (folder / "SHA256SUMS").write_text("\n".join(s for s in sums if "ir/01.png" not in s) + "\n")
        with pytest.raises(ChecksumError, match="not listed in"):
            fl.data.load("tno", tmp_path)[0]

    def test_missing_sums(self, tmp_path):
        folder = make_tno(tmp_path)
        (folder / "SHA256SUMS").unlink()
        with pytest.raises(DataNotFoundError, match="SHA256SUMS"):
            fl.data.load("tno", tmp_path)
        assert len(fl.data.load("tno", tmp_path, verify=False)) == 2

    def test_verification_cached(self, tmp_path, monkeypatch):
        make_tno(tmp_path)
        calls = []
        real = _files.sha256_file
        monkeypatch.setattr(_files, "sha256_file", lambda p: calls.append(p) or real(p))
        fl.data.load("tno", tmp_path)[0]
        n = len(calls)
        assert n == 3          # pairs.csv + 2 images
        fl.data.load("tno", tmp_path)[0]
        assert len(calls) == n

    def test_truncated_image(self, tmp_path):
        folder = make_tno(tmp_path)
        f = folder / "ir" / "01.png"
        f.write_bytes(f.read_bytes()[:60])
        _write_sums(folder)                       # checksum matches: the decoder must catch it
        with pytest.raises(ImageReadError, match=r"01\.png.*truncated or corrupt"):
            fl.data.load("tno", tmp_path)[0]

    def test_corrupt_image(self, tmp_path):
        folder = make_tno(tmp_path)
        (folder / "ir" / "01.png").write_bytes(b"this is not a png at all" * 10)
        _write_sums(folder)
        with pytest.raises(ImageReadError, match="cannot decode"):
            fl.data.load("tno", tmp_path)[0]

    def test_mismatched_sizes(self, tmp_path):
        folder = make_tno(tmp_path)
        iio.imwrite(folder / "vi" / "01.png", np.zeros((24, 30, 3), np.uint8))
        _write_sums(folder)
        with pytest.raises(ShapeError, match=r"different sizes.*01\.png 24x32.*01\.png 24x30"):
            fl.data.load("tno", tmp_path)[0]

    def test_size_differs_from_index(self, tmp_path):
        folder = make_tno(tmp_path)
        for sub in ("ir", "vi"):
            iio.imwrite(folder / sub / "01.png", np.zeros((20, 20, 3), np.uint8))
        _write_sums(folder)
        with pytest.raises(ShapeError, match="index says 24x32"):
            fl.data.load("tno", tmp_path)[0]

    def test_16bit(self, tmp_path):
        folder = make_tno(tmp_path)
        iio.imwrite(folder / "ir" / "01.png", np.full((24, 32), 40000, np.uint16))
        _write_sums(folder)
        with pytest.raises(ImageReadError, match=r"01\.png is 16-bit"):
            fl.data.load("tno", tmp_path)[0]

    def test_colour_where_gray_expected(self, tmp_path):
        folder = make_tno(tmp_path)
        rgb = np.zeros((24, 32, 3), np.uint8)
        rgb[..., 0] = 200
        iio.imwrite(folder / "ir" / "01.png", rgb)
        _write_sums(folder)
        with pytest.raises(ImageReadError, match="channels differ"):
            fl.data.load("tno", tmp_path)[0]

    @pytest.mark.parametrize("row, match", [
        ("01,ir/01.png,,infrared,visible,32,24,RGB,RGB,32x24", "fewer than 2 sources"),
        (",ir/01.png,vi/01.png,infrared,visible,32,24,RGB,RGB,32x24", "empty `pair_id`"),
        ("01,ir/01.png,vi/01.png,infrared,visible,wide,24,RGB,RGB,32x24", "`width` must be a positive int"),
        ("01,ir/01.png,vi/01.png,infrared", "has 4 fields, expected 10"),
        ("01,ir/01.png,vi/01.png,infrared,visible,32,24,RGB,RGB,32x24,extra", "has 11 fields, expected 10"),
        ("01,/etc/passwd,vi/01.png,infrared,visible,32,24,RGB,RGB,32x24", "relative path"),
        ("01,../../x.png,vi/01.png,infrared,visible,32,24,RGB,RGB,32x24", "leaves the data root"),
    ])
    def test_bad_row(self, tmp_path, row, match):
        make_tno(tmp_path, rows=[HEADER, row])
        with pytest.raises(PairsFileError, match=match) as e:
            fl.data.load("tno", tmp_path)[0]
        assert "pairs.csv" in str(e.value) or "tno_cddfuse" in str(e.value)

    def test_duplicate_and_missing_column(self, tmp_path):
        r = "01,ir/01.png,vi/01.png,infrared,visible,32,24,RGB,RGB,32x24"
        make_tno(tmp_path, rows=[HEADER, r, r])
        with pytest.raises(PairsFileError, match=r"line 3: duplicated pair_id '01'"):
            fl.data.load("tno", tmp_path)
        other = tmp_path / "other"
        make_tno(other, rows=["pair_id,a,width,height", "01,ir/01.png,32,24"])
        with pytest.raises(PairsFileError, match=r"missing column\(s\) \['b'\]"):
            fl.data.load("tno", other)

    def test_bad_sums_line(self, tmp_path):
        folder = make_tno(tmp_path)
        (folder / "SHA256SUMS").write_text("xyz  pairs.csv\n")
        with pytest.raises(PairsFileError, match="line 1 is not"):
            fl.data.load("tno", tmp_path)


class TestDownload:
    def test_smoke(self, tmp_path):
        mirror = make_tno(tmp_path / "mirror")
        dest = tmp_path / "dest"
        folder = fl.data.download("tno", dest, base_url=mirror.as_uri())
        assert folder == dest / "tno_cddfuse"
        for p in mirror.rglob("*"):
            if p.is_file():
                assert (folder / p.relative_to(mirror)).read_bytes() == p.read_bytes()
        assert not list(folder.rglob("*.tmp*"))           # atomic writes leave no temporaries
        ds = fl.data.load("tno", dest)
        assert len(ds) == 2 and ds[0].sources[0].shape == (1, 24, 32)

    def test_env_mirror(self, tmp_path, monkeypatch):
        make_tno(tmp_path / "mirror")
        monkeypatch.setenv("FUSIONLIB_DATA_URL", (tmp_path / "mirror").as_uri())
        assert (fl.data.download("tno", tmp_path / "d") / "pairs.csv").is_file()

    def test_checksum_mismatch(self, tmp_path):
        mirror = make_tno(tmp_path / "mirror")
        (mirror / "vi" / "02.png").write_bytes(b"tampered")
        with pytest.raises(ChecksumError, match=r"vi/02\.png: expected sha256"):
            fl.data.download("tno", tmp_path / "d", base_url=mirror.as_uri())
        assert not (tmp_path / "d" / "tno_cddfuse" / "vi" / "02.png").exists()

    def test_missing_file(self, tmp_path):
        mirror = make_tno(tmp_path / "mirror")
        (mirror / "ir" / "01.png").unlink()
        with pytest.raises(DataNotFoundError, match=r"cannot fetch .*ir/01\.png"):
            fl.data.download("tno", tmp_path / "d", base_url=mirror.as_uri())

    def test_exception(self, tmp_path):
        mirror = make_tno(tmp_path / "mirror")
        (mirror / "SHA256SUMS").write_text("0" * 64 + "  ../evil.txt\n")
        with pytest.raises(PairsFileError, match="unsafe path"):
            fl.data.download("tno", tmp_path / "d", base_url=mirror.as_uri())
        with pytest.raises(ValueError, match="embedded"):
            fl.data.download("embedded_irvis", tmp_path)
        with pytest.raises(DataNotFoundError, match="cannot fetch"):
            fl.data.download("tno", tmp_path / "d", base_url=(tmp_path / "nowhere").as_uri())


class TestDataFile:
    def test_smoke(self, tmp_path):
        folder = tmp_path / "weights"
        folder.mkdir()
        (folder / "w.bin").write_bytes(b"123")
        _write_sums(folder)
        assert fl.data.data_file("weights", "w.bin", tmp_path) == folder / "w.bin"

    def test_exception(self, tmp_path):
        folder = tmp_path / "weights"
        folder.mkdir()
        (folder / "w.bin").write_bytes(b"123")
        _write_sums(folder)
        (folder / "w.bin").write_bytes(b"124")
        with pytest.raises(ChecksumError, match=r"w\.bin"):
            fl.data.data_file("weights", "w.bin", tmp_path)
        with pytest.raises(DataNotFoundError, match="'niqe' not found"):
            fl.data.data_file("niqe", "x.npz", tmp_path)
        with pytest.raises(ValueError, match="`folder` must be"):
            fl.data.data_file("../x", "y", tmp_path)

    def test_real(self, data_root):
        p = fl.data.data_file("niqe", "niqe_pris_params.npz", data_root)
        assert p.is_file()

    def test_dot_slash_sums(self, tmp_path):
        folder = tmp_path / "weights"
        folder.mkdir()
        (folder / "w.bin").write_bytes(b"123")
        (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(b'123').hexdigest()}  ./w.bin\n")
        assert fl.data.data_file("weights", "w.bin", tmp_path).is_file()


class TestDownloadUpstream:
    def _upstream(self, tmp_path, folder):
        """A fake upstream checkout of MMIF-CDDFuse: test_img/TNO/{ir,vi}/NN.png."""
        up = tmp_path / "upstream"
        for p in folder.rglob("*.png"):
            dst = up / "test_img" / "TNO" / p.relative_to(folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(p.read_bytes())
        return up

    def test_repair(self, tmp_path):
        folder = make_tno(tmp_path / "root")
        up = self._upstream(tmp_path, folder)
        good = (folder / "ir" / "01.png").read_bytes()
        (folder / "ir" / "01.png").unlink()
        (folder / "vi" / "02.png").write_bytes(b"damaged")
        out = fl.data.download("tno", tmp_path / "root", source="upstream", base_url=up.as_uri())
        assert out == folder and (folder / "ir" / "01.png").read_bytes() == good
        assert len(fl.data.load("tno", tmp_path / "root")[1].sources) == 2

    def test_exception(self, tmp_path):
        folder = make_tno(tmp_path / "root")
        up = self._upstream(tmp_path, folder)
        (folder / "pairs.csv").write_text("changed\n")            # made by the curators: not upstream
        with pytest.raises(DataNotFoundError, match=r"not in Zhaozixiang1228/MMIF-CDDFuse: pairs\.csv"):
            fl.data.download("tno", tmp_path / "root", source="upstream", base_url=up.as_uri())
        with pytest.raises(DataNotFoundError, match="curated index files"):
            fl.data.download("tno", tmp_path / "empty", source="upstream", base_url=up.as_uri())
        with pytest.raises(ValueError, match="`source` must be one of"):
            fl.data.download("tno", tmp_path, source="ftp")

    def test_default_is_upstream_raw_url(self, tmp_path, monkeypatch):
        monkeypatch.delenv("FUSIONLIB_DATA_URL", raising=False)
        folder = make_tno(tmp_path)
        (folder / "ir" / "01.png").unlink()
        seen = []

        def fake_fetch(url, timeout):
            seen.append(url)
            raise DataNotFoundError("offline")
        from fusionlib.data import _download
        monkeypatch.setattr(_download, "_fetch", fake_fetch)
        with pytest.raises(DataNotFoundError, match="offline"):
            fl.data.download("tno", tmp_path)
        assert seen == ["https://raw.githubusercontent.com/Zhaozixiang1228/MMIF-CDDFuse/"
                        "fd8da1f39d8d403b7343e577bd5a30cba38c7b7b/test_img/TNO/ir/01.png"]

    def test_reference(self, data_root):
        """The Harvard mapping agrees with the curated index's `original_a`/`original_b` columns,
        and every image of every mapped set has an upstream path."""
        import csv
        from fusionlib.data._download import UPSTREAM_PATHS
        rows = list(csv.DictReader(open(data_root / "medical_harvard" / "pairs.csv")))
        for r in rows:
            assert UPSTREAM_PATHS["harvard"](r["a"]) == r["original_a"]
            assert UPSTREAM_PATHS["harvard"](r["b"]) == r["original_b"]
        for name in ("vifb", "tno", "roadscene", "lytro", "mefb", "harvard", "ifcnn"):
            folder = data_root / fl.data.info(name).folder
            sums = fl.data._files.parse_sums((folder / "SHA256SUMS").read_text())
            imgs = [r for r in sums if r.lower().endswith((".png", ".jpg", ".tif", ".jpeg", ".bmp"))]
            if name == "ifcnn":
                imgs = [r for r in imgs if r.startswith("datasets/")]
            assert all(UPSTREAM_PATHS[name](r) for r in imgs), name
