"""Fuzz the command line and the public API with parameters inside and outside the declared ranges.

Every outcome is a result (finite, in [0, 1]) or one of the package's errors (TypeError,
ValueError and its subclasses ShapeError / ImageReadError / CacheEntryError, KeyError for an
unknown name), never another exception type and never NaN (issue #21). Derandomized, modest
example counts, no deadline: a few seconds on 2 cores.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fusionlib.classical as C
import fusionlib.nets as nets
from fusionlib import metrics as M
from fusionlib.cli import fuse_main
from fusionlib.io import write_image

PACKAGE_ERRORS = (TypeError, ValueError, KeyError)
WHERE = re.compile(r"^(unknown [\w ]+ '|[A-Za-z_][\w.]*(\[\w+\])?: )")
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

GARBAGE = st.sampled_from([None, True, False, "abc", "", float("nan"), float("inf"), -float("inf"),
                           1e999, -1, 0, 10**12, 0.5, [1], {"a": 1}])


def _value(decl, inside: bool = True, outside: bool = True):
    """A value for a declared parameter: inside its range (or on its edges), outside it, or garbage."""
    want_inside, want_outside = inside, outside
    if decl.kind == "choice":
        inside = st.sampled_from(list(decl.choices))
        outside = st.sampled_from(["bogus", 0, 3.5, None])
    elif decl.kind == "int":
        lo, hi = int(decl.low), int(decl.high)
        inside = st.one_of(st.sampled_from([lo, hi]), st.integers(lo, min(hi, lo + 12)))
        if decl.odd:
            inside = inside.map(lambda v: v if v % 2 else (v + 1 if v + 1 <= hi else v - 1))
        outside = st.one_of(st.sampled_from([lo - 1, hi + 1, -(2**31), 2**40]),
                            st.integers(lo, hi).map(float), st.just(True))
    else:
        lo = decl.low if decl.low is not None else -1e6
        hi = decl.high if decl.high is not None else 1e6
        inside = st.one_of(st.sampled_from([lo if not decl.open_low else math.nextafter(lo, hi), hi]),
                           st.floats(max(lo, 1e-12) if decl.open_low else lo, min(hi, 10.0),
                                     allow_nan=False, allow_infinity=False))
        outside = st.one_of(st.sampled_from([lo - 1, -1e-9 if lo == 0 else lo / 2, hi * 10, hi + 1]),
                            st.floats(max_value=lo, exclude_max=True), st.floats(min_value=hi, exclude_min=True))
    if not want_outside:
        return inside
    if not want_inside:
        return st.one_of(outside, GARBAGE)
    return st.one_of(inside, inside, outside, GARBAGE)  # half of the draws inside the range


def _inside(decl):
    return _value(decl, outside=False)


@st.composite
def method_call(draw, modes=("inside", "inside", "one_outside", "any")):
    """A method and parameters: all inside their ranges, exactly one outside, or anything."""
    name = draw(st.sampled_from(sorted(C.METHODS)))
    spec = C.METHODS[name]
    mode = draw(st.sampled_from(modes))
    names = [k for k in spec.params if draw(st.booleans())]
    params = {k: draw(_value(spec.params[k]) if mode == "any" else _inside(spec.params[k])) for k in names}
    if mode == "one_outside":
        if names and draw(st.integers(0, 4)):
            k = draw(st.sampled_from(names))
            params[k] = draw(_value(spec.params[k], inside=False))
        else:
            params[draw(st.sampled_from(["bogus", "levels", "R1"]))] = 1
    return name, params


@st.composite
def sources(draw):
    n = draw(st.sampled_from([2, 2, 2, 3, 3, 1]))
    h, w = draw(st.sampled_from([(32, 32), (40, 36), (24, 28), (17, 33), (8, 8), (4, 40)]))
    rgb = draw(st.booleans())
    kind = draw(st.sampled_from(["unit"] * 12 + ["255", "nan", "const", "negative"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    out = []
    for _ in range(n):
        x = rng.random((3, h, w) if rgb else (h, w)).astype(np.float32)
        if kind == "255":
            x = x * 255
        elif kind == "nan":
            x.flat[0] = np.nan
        elif kind == "const":
            x[...] = 0.5
        elif kind == "negative":
            x -= 0.5
        out.append(x)
    return out


#: Outcomes per test ("result" / "error"), to show the fuzzing reaches both (test_outcome_mix).
COUNTS: dict[str, dict[str, int]] = {}


def _outcome(test, fn):
    """Call ``fn``: None when it raised a package error, else its result; other exceptions fail."""
    tally = COUNTS.setdefault(test, {"result": 0, "error": 0})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except PACKAGE_ERRORS as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        # the package's form "function: `param` ...": Python's own TypeError/ValueError/IndexError
        # texts from deep inside ("unsupported operand type(s) for -: ...") do not start that way
        assert WHERE.match(msg), f"not a package error: {type(e).__name__}: {msg}"
        tally["error"] += 1
        return None
    tally["result"] += 1
    return out


@FUZZ
@given(call=method_call(), srcs=sources())
def test_classical_fuse(call, srcs):
    name, params = call
    out = _outcome("fuse", lambda: C.fuse(name, srcs, **params))
    if out is not None:
        assert out.shape[-2:] == srcs[0].shape[-2:]
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


_MODEL = nets.build("aenetv2", width=8, groups=4)


@FUZZ
@given(srcs=sources(), batch_size=st.one_of(st.integers(1, 4), st.integers(1, 4), st.integers(-2, 0), GARBAGE),
       device=st.sampled_from([None, None, "cpu", "auto", "foo", "cuda:7", 3]))
def test_nets_fuse(srcs, batch_size, device):
    out = _outcome("nets", lambda: nets.fuse(_MODEL, srcs, batch_size=batch_size, device=device))
    if out is not None:
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


_REFERENCE = [n for n, i in M.METRICS.items() if i.inputs == "reference"]
_SOURCES = [n for n, i in M.METRICS.items() if i.inputs in ("sources", "none") and n != "niqe"]


@FUZZ
@given(name=st.sampled_from(_REFERENCE + _SOURCES), srcs=sources(),
       preset=st.one_of(st.none(), st.sampled_from(["default", "vifb", "vivone", "iaoa", "nope"])))
def test_metrics(name, srcs, preset):
    info = M.METRICS[name]
    kw = {} if preset is None else {"preset": preset}
    if info.inputs == "reference":
        f, r = srcs[0], srcs[-1]
        f = f[None] if f.ndim == 2 else f
        r = r[None] if r.ndim == 2 else r
        out = _outcome("metrics", lambda: info.fn(f, r, **kw))
    elif info.inputs == "none":
        out = _outcome("metrics", lambda: info.fn(srcs[0], **kw))
    else:
        out = _outcome("metrics", lambda: info.fn(srcs[0], srcs[1:] or srcs, **kw))
    if out is not None:
        assert not np.isnan(np.asarray(out, np.float64)).any(), (name, out)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz_cli")
    rng = np.random.default_rng(0)
    write_image(d / "a.png", rng.random((24, 20)).astype(np.float32))
    write_image(d / "b.png", rng.random((3, 24, 20)).astype(np.float32))
    import imageio.v3 as iio
    iio.imwrite(d / "c16.png", (rng.random((24, 20)) * 65535).astype(np.uint16))
    (d / "text.png").write_text("not an image")
    write_image(d / "small.png", rng.random((10, 10)).astype(np.float32))
    (d / "folder").mkdir()
    return d


@st.composite
def cli_args(draw):
    name, params = draw(st.one_of(method_call(modes=("inside",)), method_call()))
    good = ["a.png", "b.png", "c16.png"]
    valid = st.lists(st.sampled_from(good), min_size=2, max_size=3)
    anything = st.lists(st.sampled_from(good + ["text.png", "small.png", "missing.png"]), max_size=3)
    inputs = draw(st.one_of(valid, valid, valid, anything))
    out = draw(st.one_of(st.sampled_from(["out.png", "out.tif", "sub/out.png"]),
                         st.sampled_from(["out.png", "out.tif", "sub/out.png"]),
                         st.sampled_from(["out.jpg", "out.bmp", "out.xyz", "out", "folder", "a.png"])))
    argv = [*inputs, "-o", out, "-m", draw(st.sampled_from([name] * 5 + ["nope"]))]
    for k, v in params.items():
        argv += ["-p", f"{k}={v!r}" if draw(st.booleans()) else f"{k}={v}"]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--device", draw(st.sampled_from(["cpu", "auto", "foo", "cuda:7"]))]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--bits", draw(st.sampled_from(["8", "16", "12"]))]
    if draw(st.integers(0, 19)) == 0:
        argv += ["-p", draw(st.sampled_from(["novalue", "=3", "n_levels"]))]
    return argv


@settings(FUZZ, max_examples=30,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=cli_args())
def test_cli(images, argv, capsys, monkeypatch):
    monkeypatch.chdir(images)
    before = (images / "a.png").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = fuse_main(argv)
    err = capsys.readouterr().err
    assert rc in (0, 1, 2), (argv, rc, err)
    tally = COUNTS.setdefault("cli", {"result": 0, "error": 0})
    tally["result" if rc == 0 else "error"] += 1
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    assert (images / "a.png").read_bytes() == before  # an input is never replaced
    if rc == 0:
        from fusionlib.io import read_image
        out = argv[argv.index("-o") + 1]
        got = read_image(images / out)
        assert np.isfinite(got).all()
    else:
        lines = [ln for ln in err.strip().splitlines() if ln.startswith("fusionlib fuse: error:")
                 or ln.startswith("usage:") or "error:" in ln]
        assert lines, (argv, err)


def test_outcome_mix():
    """The fuzz tests above (same module, run before this one) reached results and errors alike."""
    if set(COUNTS) != {"fuse", "nets", "metrics", "cli"}:
        pytest.skip("run with the fuzz tests above")
    print("\nfuzz outcomes:", COUNTS)
    for test, tally in COUNTS.items():
        assert tally["result"] >= 3 and tally["error"] >= 3, (test, tally)
