"""AutoregressiveLM's blocked construction (``_validate.checked_log_table``) against its literal twin.

The twin below is the construction as it was before the fast path, written out: a float64 copy of
each conditional (``as_float_array``), ``check_table`` on it (gate, row sums, divide in place), then
its log in place; ``log=True``: ``check_log_table`` of the float64 copy. The fast path must give the
same float64 bits (random conditionals with exact ties, near-ties at 1e-14, zeros, rows whose sum is
off by an ulp, Markov orders, several prompts, blocks of LOG_TABLE_CHUNK entries), the same errors
word for word and the same warnings, and never write to the caller's arrays.
"""

import warnings

import numpy as np
import pytest

import sharpsim as ss
from sharpsim import _validate
from sharpsim._validate import (
    LOG_TABLE_CHUNK,
    as_float_array,
    check_log_table,
    check_table,
    checked_log_table,
)


def _twin_conditionals(conditionals, log=False):
    """The previous AutoregressiveLM.__init__ loop body, literally (shape checks omitted)."""
    out = []
    for h, c in enumerate(conditionals, start=1):
        arr = as_float_array(c, f"conditionals[{h - 1}]")
        V = arr.shape[2]
        flat = arr.reshape(-1, V)
        name = f"conditionals[{h - 1}]"
        if log:
            flat = check_log_table(flat, name)
        else:
            flat = check_table(flat, name, copy=False)
            with np.errstate(divide="ignore"):
                np.log(flat, out=flat)
        out.append(flat.reshape(arr.shape))
    return out


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def _assert_same_bits(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == np.float64
        np.testing.assert_array_equal(_bits(g), _bits(w))


def _rows(rng, shape, zeros=True):
    """Probability rows with exact ties, near ties (1e-14 relative), zeros and ulp-off row sums."""
    g = rng.standard_exponential(shape) * 10.0 ** rng.uniform(-20, 0, shape[:-1] + (1,))
    V = shape[-1]
    if V >= 3:
        g[..., 1] = g[..., 0]  # exact ties
        g[..., 2] = g[..., 0] * (1 + 1e-14)  # near ties
    if zeros and V >= 2:
        g[g < 0.3 * g.mean()] = 0.0
        g[..., -1] = np.where(g.sum(axis=-1) == 0.0, 1.0, g[..., -1])  # no all-zero row
    p = g / g.sum(axis=-1, keepdims=True)
    flat = p.reshape(-1, V)
    flat[::3] = np.nextafter(flat[::3], 2.0)  # row sums an ulp or so away from 1 (within tolerance)
    return p


def _conditionals(rng, X, V, H, order=None, zeros=True):
    out = []
    for h in range(1, H + 1):
        c = h - 1 if order is None else min(h - 1, order)
        out.append(_rows(rng, (X, V**c, V), zeros))
    return out


CASES = [(1, 4, 6, None), (3, 2, 7, None), (2, 3, 5, 1), (2, 5, 4, 2), (1, 1, 3, None), (2, 7, 3, None),
         (2, 8, 3, None), (3, 9, 3, 1), (1, 16, 3, None), (1, 33, 2, None)]


@pytest.mark.parametrize("X, V, H, order", CASES)
@pytest.mark.parametrize("zeros", [True, False])
def test_conditionals_and_table_equal_the_twin_bit_for_bit(X, V, H, order, zeros):
    rng = np.random.default_rng(X * 1000 + V * 10 + H)
    conds = _conditionals(rng, X, V, H, order, zeros)
    before = [c.copy() for c in conds]
    m = ss.AutoregressiveLM(conds)
    for c, b in zip(conds, before):
        np.testing.assert_array_equal(_bits(c), _bits(b))  # the caller's arrays are untouched
    want = _twin_conditionals(conds)
    _assert_same_bits(m.conditionals, want)
    if V > 1:  # (V = 1: every context length reads as 0)
        assert m.context_lengths == tuple(h - 1 if order is None else min(h - 1, order) for h in range(1, H + 1))
    from sharpsim.models import _enumerate_impl

    np.testing.assert_array_equal(_bits(m.log_table()), _bits(_enumerate_impl(tuple(want), m.context_lengths, V)))


@pytest.mark.parametrize("X, V, H, order", CASES)
def test_log_true_equals_the_twin_bit_for_bit(X, V, H, order):
    rng = np.random.default_rng(7 + V)
    with np.errstate(divide="ignore"):
        logs = [np.log(c) for c in _conditionals(rng, X, V, H, order)]
    before = [c.copy() for c in logs]
    m = ss.AutoregressiveLM(logs, log=True)
    _assert_same_bits(m.conditionals, _twin_conditionals(logs, log=True))
    for c, b in zip(logs, before):
        np.testing.assert_array_equal(_bits(c), _bits(b))


@pytest.mark.parametrize("V", [1, 2, 4, 7, 8, 10, 40])
def test_many_blocks_equal_the_twin(V):
    # the last step spans several blocks of LOG_TABLE_CHUNK entries, with a partial last block
    rows = 3 * max(1, LOG_TABLE_CHUNK // V) + 5
    rng = np.random.default_rng(V)
    big = _rows(rng, (1, rows, V))
    assert big.size > 2 * LOG_TABLE_CHUNK
    got = checked_log_table(big.reshape(-1, V), "t")
    with np.errstate(divide="ignore"):
        want = np.log(check_table(big.reshape(-1, V), "t"))
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_blocks_whose_rows_sum_to_exactly_one_equal_the_twin():
    # dyadic rows sum to exactly 1.0 (the divide is skipped), with subnormals, zeros and -0.0; then
    # blocks mixing them with rows that need the divide
    rng = np.random.default_rng(2)
    exact = np.array([[0.5, 0.25, 0.25, 0.0], [0.5, 0.5, 5e-324, -0.0], [1.0, 0.0, 0.0, 0.0], [0.25] * 4])
    rows = 2 * (LOG_TABLE_CHUNK // 4) + 3
    p = exact[rng.integers(0, 4, rows)]
    mixed = p.copy()
    mixed[rows // 2:] = _rows(rng, (rows - rows // 2, 4))
    for q in (p, mixed, p[:5]):
        got = checked_log_table(q, "t")
        with np.errstate(divide="ignore"):
            want = np.log(check_table(q, "t"))
        np.testing.assert_array_equal(_bits(got), _bits(want))
    conds = [np.full((1, 1, 4), 0.25), p[:4].reshape(1, 4, 4), mixed[-16:].reshape(1, 16, 4)]
    _assert_same_bits(ss.AutoregressiveLM(conds).conditionals, _twin_conditionals(conds))


def test_the_issue_size_equals_the_twin():
    # the benchmark's case: X=1, V=4, H=10 (1.4 million conditional entries)
    rng = np.random.default_rng(0)
    conds = []
    for h in range(1, 11):
        g = rng.standard_exponential((1, 4 ** (h - 1), 4))
        conds.append(g / g.sum(axis=-1, keepdims=True))
    _assert_same_bits(ss.AutoregressiveLM(conds).conditionals, _twin_conditionals(conds))


def _layouts_and_dtypes(p):
    """The same table as other dtypes and memory layouts (each the twin's own input too)."""
    yield p.astype(np.float32)
    yield np.asfortranarray(p)
    yield p[:, :, ::-1]  # negative strides
    yield np.concatenate([p, p], axis=2)[:, :, : p.shape[2]]  # rows with a gap after them
    yield p.tolist()


@pytest.mark.parametrize("V", [2, 4, 9])
def test_other_dtypes_and_layouts_equal_the_twin(V):
    rng = np.random.default_rng(V + 100)
    c0 = _rows(rng, (2, 1, V))
    c1 = _rows(rng, (2, V, V))
    c1 = (c1 / c1.sum(axis=-1, keepdims=True)).astype(np.float32).astype(np.float64)  # float32-exact rows
    c1 /= c1.sum(axis=-1, keepdims=True)
    for alt in _layouts_and_dtypes(c1):
        conds = [c0, alt]
        try:
            want = _twin_conditionals(conds)
        except ValueError as e:  # float32 rows may miss the tolerance: then the same error
            with pytest.raises(ValueError) as info:
                ss.AutoregressiveLM(conds)
            assert str(info.value) == str(e)
            continue
        _assert_same_bits(ss.AutoregressiveLM(conds).conditionals, want)
    # integers, booleans and a read-only broadcast view (stride 0)
    onehot = np.zeros((2, V, V), dtype=np.int64)
    onehot[:, :, 0] = 1
    for alt in (onehot, onehot.astype(bool), np.broadcast_to(np.full((1, 1, V), 1.0 / V), (2, V, V))):
        conds = [c0, alt]
        _assert_same_bits(ss.AutoregressiveLM(conds).conditionals, _twin_conditionals(conds))


def test_model_does_not_alias_the_callers_arrays():
    rng = np.random.default_rng(5)
    conds = _conditionals(rng, 1, 4, 4)
    m = ss.AutoregressiveLM(conds)
    snapshot = [c.copy() for c in m.conditionals]
    for c in conds:
        c[...] = 0.25  # the caller reuses its buffers
    _assert_same_bits(m.conditionals, snapshot)
    for c in m.conditionals:
        assert not any(np.shares_memory(c, d) for d in conds)


def _messages(fn):
    """(error message, warning messages) of fn()."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as info:
            fn()
    return str(info.value), [(w.category, str(w.message)) for w in caught]


def _bad_inputs():
    rng = np.random.default_rng(11)
    base = _rows(rng, (1, 4 ** 8, 4), zeros=False)  # 2^18 entries: several blocks
    base[0, -4:] = [0.5, 0.0, 0.25, 0.25]  # rows with zeros near the end
    n = base.shape[1]
    edits = {
        # each gate alone: a negative entry in a row that still sums to 1, a row sum below / above 1
        "negative-row-sums-to-1": [((0, 20, 0), 1.5), ((0, 20, 1), -0.5), ((0, 20, 2), 0.0), ((0, 20, 3), 0.0)],
        "tiny-negative-in-place-of-a-zero-late": [((0, n - 3, 1), -1e-300)],
        "negative-zero-then-negative": [((0, n - 4, 1), -0.0), ((0, n - 3, 1), -5e-324)],
        "row-sum-low": [((0, 50, 0), 0.0)],
        "row-sum-low-late": [((0, n - 1, 0), 0.0)],
        "nan": [((0, 5, 1), np.nan)],
        "nan-late": [((0, n - 1, 3), np.nan)],
        "inf": [((0, 7, 0), np.inf)],
        "-inf": [((0, 7, 0), -np.inf)],
        "negative": [((0, 9, 2), -0.5)],
        "negative-late": [((0, n - 2, 2), -1e-300)],
        "negative-and-later-nan": [((0, 3, 2), -0.5), ((0, n - 1, 0), np.nan)],
        "row-sum-and-later-negative": [((0, 2, 0), 0.9), ((0, n - 1, 0), -0.1)],
        "row-sum": [((0, 100, 0), 0.75)],
        "row-sum-late": [((0, n - 1, 1), 0.6)],
        "row-sum-ulp-beyond-tol": [((0, 4, 0), base[0, 4, 0] + 2e-9)],
        "overflowing-sum": [((0, 6, 0), 1e308), ((0, 6, 1), 1e308)],
        "nan-and-inf": [((0, 6, 0), np.inf), ((0, 6, 1), -np.inf)],
    }
    for name, changes in edits.items():
        bad = base.copy()
        for idx, v in changes:
            bad[idx] = v
        yield name, bad


@pytest.mark.parametrize("name, bad", list(_bad_inputs()), ids=[n for n, _ in _bad_inputs()])
def test_errors_and_warnings_unchanged(name, bad):
    good = np.full((1, 1, 4), 0.25)
    before = bad.copy()
    got = _messages(lambda: ss.AutoregressiveLM([good] + [np.full((1, 4 ** k, 4), 0.25) for k in range(1, 8)]
                                                + [bad]))
    want = _messages(lambda: _twin_conditionals([bad]))
    assert got[0] == want[0].replace("conditionals[0]", "conditionals[8]")
    assert got[1] == want[1]
    np.testing.assert_array_equal(_bits(bad), _bits(before))  # still untouched


def test_negative_zero_is_a_zero_as_before():
    c = np.array([[[0.5, -0.0, 0.5, 0.0]]])
    m = ss.AutoregressiveLM([c])
    _assert_same_bits(m.conditionals, _twin_conditionals([c]))
    assert np.isneginf(m.conditionals[0][0, 0, 1])


def test_valid_input_emits_no_warning():
    rng = np.random.default_rng(3)
    conds = _conditionals(rng, 2, 4, 7)  # zeros: log(0) = -inf must stay silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.AutoregressiveLM(conds).log_table()
        checked_log_table(conds[-1].reshape(-1, 4), "t")


def test_checked_log_table_equals_log_of_check_table():
    rng = np.random.default_rng(9)
    for Y in list(range(1, 12)) + [16, 33, 100]:
        p = _rows(rng, (300, Y))
        for q in (p, np.asfortranarray(p), p[::-1], p[:, ::-1], p.astype(np.float32), p.tolist()):
            try:
                t = check_table(q, "t")
            except ValueError as e:
                with pytest.raises(ValueError) as info:
                    checked_log_table(q, "t")
                assert str(info.value) == str(e)
                continue
            with np.errstate(divide="ignore"):
                want = np.log(t)
            np.testing.assert_array_equal(_bits(checked_log_table(q, "t")), _bits(want))


@pytest.mark.parametrize("value", [np.ones(3) / 3, np.ones((1, 1, 2)) / 2, np.zeros((0, 3)), np.zeros((2, 0)),
                                   "abc", None, np.array([["a", "b"]])])
def test_checked_log_table_shape_and_type_errors_are_check_tables(value):
    with pytest.raises((TypeError, ValueError)) as want:
        check_table(value, "t")
    with pytest.raises(want.type) as got:
        checked_log_table(value, "t")
    assert str(got.value) == str(want.value)


def test_as_real_array_keeps_as_float_arrays_errors_without_copying():
    a = np.full((2, 2), 0.5)
    assert _validate.as_real_array(a, "a") is a
    for bad in ("abc", None, np.array(["x"]), np.array([object()]), np.array([1 + 2j])):
        with pytest.raises(TypeError) as want:
            as_float_array(bad, "a")
        with pytest.raises(TypeError) as got:
            _validate.as_real_array(bad, "a")
        assert str(got.value) == str(want.value)


def test_zero_prompts_error_unchanged():
    c = np.zeros((0, 1, 2))
    with pytest.raises(ValueError) as want:
        _twin_conditionals([c])
    with pytest.raises(ValueError) as got:
        ss.AutoregressiveLM([c])
    assert str(got.value) == str(want.value)
