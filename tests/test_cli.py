"""python -m fusionlib fuse."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import fusionlib.classical as C
from fusionlib.cli import fuse_main
from fusionlib.io import read_image, write_image


@pytest.fixture
def pair(tmp_path, rng):
    a = rng.random((40, 36)).astype(np.float32)
    b = rng.random((3, 40, 36)).astype(np.float32)
    pa, pb = tmp_path / "a.png", tmp_path / "b.jpg"
    write_image(pa, a)
    write_image(pb, b)
    return pa, pb


class TestFuseMain:
    def test_smoke(self, pair, tmp_path, capsys):
        out = tmp_path / "f.png"
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(out), "--method", "lp",
                          "--param", "n_levels=3"]) == 0
        got = read_image(out)
        ref = C.fuse("lp", [read_image(pair[0], mode="gray3"), read_image(pair[1])], n_levels=3)
        assert got.shape == (3, 40, 36)
        assert np.abs(got - ref).max() <= 0.5 / 255 + 1e-6

    def test_16bit(self, tmp_path, rng):
        a = (rng.random((32, 32)) * 65535).astype(np.uint16)
        import imageio.v3 as iio
        iio.imwrite(tmp_path / "a.png", a)
        iio.imwrite(tmp_path / "b.png", a)
        assert fuse_main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o",
                          str(tmp_path / "f.png")]) == 0
        out = iio.imread(tmp_path / "f.png")
        assert out.dtype == np.uint16 and np.array_equal(out, a)

    def test_list(self, capsys):
        assert fuse_main(["--list"]) == 0
        text = capsys.readouterr().out
        for name in C.METHODS:
            assert name in text

    def test_exception(self, pair, tmp_path, capsys):
        out = str(tmp_path / "f.png")
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"not an image")
        assert fuse_main([str(pair[0]), str(bad), "-o", out]) == 1
        assert "bad.png" in capsys.readouterr().err
        small = tmp_path / "small.png"
        write_image(small, np.zeros((20, 20), np.float32))
        assert fuse_main([str(pair[0]), str(small), "-o", out]) == 1
        assert "same size" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), "-o", out]) == 2
        assert "at least 2" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--method", "nope"]) == 2
        assert "unknown method" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--param", "bogus=1"]) == 2
        assert "unknown parameter" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--param", "novalue"]) == 2
        assert fuse_main([str(pair[0]), str(tmp_path / "missing.png"), "-o", out]) == 1
        assert "not found" in capsys.readouterr().err

    def test_refuses_to_overwrite_an_input(self, pair, tmp_path, capsys, monkeypatch):
        before = pair[0].read_bytes()
        monkeypatch.chdir(tmp_path)
        for out in (str(pair[0]), "a.png", "./a.png", str(tmp_path / "x" / ".." / "a.png")):
            assert fuse_main([str(pair[0]), str(pair[1]), "-o", out]) == 2
            assert "refusing to overwrite" in capsys.readouterr().err
        link = tmp_path / "hard.png"
        os.link(pair[0], link)  # the same file under another name
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(link)]) == 2
        assert pair[0].read_bytes() == before

    def test_output_mode_follows_umask(self, pair, tmp_path):
        old = os.umask(0o022)
        try:
            assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "f.png")]) == 0
        finally:
            os.umask(old)
        assert stat.S_IMODE((tmp_path / "f.png").stat().st_mode) == 0o644

    @pytest.mark.parametrize("extra, rc, text", [
        (["-m", "lp", "-p", "n_levels=abc"], 2, "`n_levels` must be an int in [1, 16]; got str 'abc'"),
        (["-m", "lp", "-p", "n_levels=0"], 2, "`n_levels`"),
        (["-m", "lp", "-p", "n_levels=-1"], 2, "`n_levels`"),
        (["-m", "lp", "-p", "n_levels=True"], 2, "`n_levels`"),
        (["-m", "rp", "-p", "eps=-1"], 2, "`eps`"),
        (["-m", "rp", "-p", "eps=True"], 2, "`eps`"),
        (["-m", "gff", "-p", "lap_size=0"], 2, "`lap_size`"),
        (["-m", "gff", "-p", "lap_size=-1"], 2, "`lap_size`"),
        (["-m", "gff", "-p", "lap_sigma=1e999"], 2, "`lap_sigma`"),
        (["-m", "gff", "-p", "r1=1000000"], 2, "`r1`"),
        (["-m", "mertens", "-p", "wc=10000"], 2, "`wc`"),
        (["-p", "bogus=1"], 2, "unknown parameter"),
        (["--device", "foo"], 2, "`device`"),
        (["-o", "{tmp}/out.xyz"], 2, "'.xyz'"),
        (["-o", "{tmp}/noext"], 2, "'(none)'"),
        (["-o", "{tmp}"], 2, "is a folder"),
        (["--bits", "16", "-o", "{tmp}/o.jpg"], 2, "cannot be stored in .jpg"),
        (["--bits", "16", "-o", "{tmp}/o.bmp"], 2, "cannot be stored in .bmp"),
    ])
    def test_one_line_errors(self, pair, tmp_path, capsys, extra, rc, text):
        """Each user mistake: the exit status and one line naming the parameter or file."""
        args = [str(pair[0]), str(pair[1]), "-o", str(tmp_path / "f.png")]
        args += [a.replace("{tmp}", str(tmp_path)) for a in extra]
        assert fuse_main(args) == rc
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "f.png").exists()

    def test_16bit_input_to_jpeg(self, tmp_path, capsys):
        import imageio.v3 as iio
        a = np.full((16, 16), 40000, np.uint16)
        iio.imwrite(tmp_path / "a.png", a)
        iio.imwrite(tmp_path / "b.png", a)
        assert fuse_main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "f.jpg")]) == 2
        assert "--bits 8" in capsys.readouterr().err
        assert fuse_main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "f.jpg"),
                          "--bits", "8"]) == 0

    def test_bad_inputs_one_line(self, pair, tmp_path, capsys):
        text = tmp_path / "text.png"
        text.write_text("hello, not an image")
        assert fuse_main([str(text), str(pair[1]), "-o", str(tmp_path / "f.png")]) == 1
        err = capsys.readouterr().err
        assert "text.png" in err and "format not recognised" in err and "pip" not in err
        from PIL import Image
        Image.new("LA", (36, 40), (100, 255)).save(tmp_path / "la.png")
        assert fuse_main([str(tmp_path / "la.png"), str(pair[1]), "-o", str(tmp_path / "f.png")]) == 0
        Image.new("RGB", (36, 40), (200, 30, 30)).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
        assert fuse_main([str(tmp_path / "c.jpg"), str(tmp_path / "c.jpg"), "-o", str(tmp_path / "c.png")]) == 0
        assert "CMYK" in capsys.readouterr().err
        rgb = read_image(tmp_path / "c.png")[:, 5, 5] * 255
        assert np.abs(rgb - [200, 30, 30]).max() <= 3  # not the inverted (55, 225, 225)

    def test_debug_shows_traceback(self, pair, tmp_path, capsys):
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "o.xyz"), "--debug"]) == 2
        err = capsys.readouterr().err
        assert "Traceback" in err and err.strip().splitlines()[-1].startswith("fusionlib fuse: error:")

    def test_unexpected_error_is_one_line(self, pair, tmp_path, capsys, monkeypatch):
        import fusionlib.classical as classical

        def boom(*a, **k):
            raise IndexError("kernel bug")
        monkeypatch.setattr(classical, "fuse", boom)
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "f.png")]) == 1
        err = capsys.readouterr().err
        assert "internal error IndexError: kernel bug" in err and "--debug" in err and "Traceback" not in err

    @pytest.mark.slow
    def test_module_dispatch(self, pair, tmp_path):
        out = tmp_path / "m.png"
        r = subprocess.run([sys.executable, "-m", "fusionlib", "fuse", str(pair[0]), str(pair[1]),
                            "-o", str(out), "--method", "max"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert out.exists()
