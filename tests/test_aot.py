"""``sharpsim.aot``: jax.jit with a persistent cache of executables keyed by the call.

The cached path must return what ``jax.jit`` returns, bit for bit and with the same dtypes and weak
types; a new process must load the executable instead of tracing; every call it cannot key
exactly must go to ``jax.jit`` unchanged. (The whole suite also runs through it: ``tests/conftest.py``
turns the compilation cache on, and with it this cache, for every test.)
"""

import os
import subprocess
import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import aot, core
from sharpsim.oracle import bon_draws_core
from sharpsim.sweep import release_compiled_if_near_map_limit


@pytest.fixture
def cache(tmp_path):
    """A private folder for the test, restored afterwards (the session's folder is on by default)."""
    before = aot.cache_dir()
    aot.set_cache_dir(tmp_path / "aot")
    aot.clear()
    yield tmp_path / "aot"
    aot.set_cache_dir(before)
    aot.clear()


def _files(folder):
    return sorted(p for p in os.listdir(folder) if p.endswith(".exe"))


def _same(a, b):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert x.dtype == y.dtype and getattr(x, "weak_type", False) == getattr(y, "weak_type", False)
        assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)


def _draws_args():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(9), size=4)
    p[0, 2] = 0.0  # a zero
    p[1] = p[1, 0]  # ties
    p /= p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        logp = core.to_device(np.log(p))
    log_mu = core.to_device(np.log(np.full(4, 0.25)))
    return jax.random.key(5), logp, log_mu


def test_cached_calls_equal_jax_jit_bit_for_bit(cache):
    key, logp, log_mu = _draws_args()
    calls = [
        lambda: bon_draws_core(key, logp, log_mu, 5, 3.0, 8),  # static passed positionally
        lambda: bon_draws_core(key, logp, log_mu, 7, 3.0, n_cap=64),  # ... and by keyword
        lambda: bon_draws_core(key, logp, log_mu, np.int64(5), np.float64(3.0), 8),  # strong, not weak types
        lambda: core.bon_law(logp, 4.0),
        lambda: core.argmax_set(logp),
    ]
    s0 = aot.stats()
    for call in calls:
        got = call()
        aot.set_cache_dir(None)
        want = call()  # plain jax.jit
        aot.set_cache_dir(cache)
        _same(got, want)
    s = aot.stats()
    assert s["misses"] - s0["misses"] == 5  # one executable per distinct call signature, written unless
    assert len(_files(cache)) == 5 - (s["xla_served"] - s0["xla_served"])  # JAX's cache (session-wide) served it
    again = [call() for call in calls]  # from memory now
    assert aot.stats()["hits_memory"] >= s["hits_memory"] + 5 and aot.stats()["misses"] == s["misses"]
    aot.set_cache_dir(None)
    for got, call in zip(again, calls):
        _same(got, call())


def test_a_new_process_loads_instead_of_tracing(cache, tmp_path):
    """The second process finds every executable on disk (no trace, no compile) and returns the first
    process's bits, which are jax.jit's bits."""
    script = f"""
import sys, json, jax, numpy as np
sys.path.insert(0, {os.path.dirname(__file__)!r})
from test_aot import _draws_args
from sharpsim import aot, core
from sharpsim.oracle import bon_draws_core
traced = []
jax.monitoring.register_event_duration_secs_listener(
    lambda e, d, **k: traced.append(k.get("fun_name")) if "jaxpr_trace" in e else None)
aot.set_cache_dir({str(cache)!r})
key, logp, log_mu = _draws_args()
d = bon_draws_core(key, logp, log_mu, 5, 3.0, 8)
law = core.bon_law(logp, 4.0)
np.savez(sys.argv[1], y=np.asarray(d.y), x=np.asarray(d.x), law=np.asarray(law))
print(json.dumps({{"stats": aot.stats(), "traced": [t for t in traced if t in ("bon_draws_core", "bon_law")]}}))
"""
    outs = []
    for i in range(2):
        r = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"r{i}.npz")], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false"})  # fresh compiles
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(__import__("json").loads(r.stdout.strip().splitlines()[-1]))
    assert outs[0]["stats"]["misses"] == 2 and outs[0]["stats"]["hits_disk"] == 0
    assert "bon_draws_core" in outs[0]["traced"]
    assert outs[1]["stats"]["misses"] == 0 and outs[1]["stats"]["hits_disk"] == 2
    assert outs[1]["traced"] == []  # loaded, not traced
    r0, r1 = np.load(tmp_path / "r0.npz"), np.load(tmp_path / "r1.npz")
    aot.set_cache_dir(None)
    key, logp, log_mu = _draws_args()
    d = bon_draws_core(key, logp, log_mu, 5, 3.0, 8)
    for r in (r0, r1):
        np.testing.assert_array_equal(r["y"], np.asarray(d.y))
        np.testing.assert_array_equal(r["x"], np.asarray(d.x))
        np.testing.assert_array_equal(r["law"], np.asarray(core.bon_law(logp, 4.0)))


def test_the_key_separates_shapes_dtypes_weak_types_statics_and_configuration(cache):
    @partial(aot.jit, static_argnames=("k",), name="tests.test_aot.separates")
    def f(x, y, k=1):
        return x * y + k

    x = jnp.arange(3.0)
    outs = [f(x, 2.0), f(x, np.float64(2.0)), f(x, 2), f(x, 2.0, k=2), f(jnp.arange(4.0), 2.0),
            f(jnp.arange(3, dtype=jnp.int32), 2)]
    assert len(_files(cache)) == 6
    assert outs[0].weak_type is False and outs[5].dtype == jnp.int32  # as jax.jit: weak scalars do not promote
    misses = aot.stats()["misses"]
    with jax.numpy_rank_promotion("allow"):  # part of jax.jit's own cache key: a separate entry
        f(x, 2.0)
    assert aot.stats()["misses"] == misses + 1  # (the same XLA program: JAX's cache may serve it, unwritten)
    f(x, 2.0)
    assert aot.stats()["misses"] == misses + 1


def test_calls_it_cannot_key_go_to_jax_jit(cache):
    key, logp, log_mu = _draws_args()
    before = aot.stats()
    # inside a transformation the call is part of the outer program
    jax.jit(lambda lp: core.argmax_set(lp))(logp)
    jax.vmap(core.argmax_set)(jnp.stack([logp, logp]))
    with jax.disable_jit():
        got = core.argmax_set(logp)
    after = aot.stats()
    assert after["misses"] == before["misses"] and _files(cache) == []
    np.testing.assert_array_equal(np.asarray(got), np.asarray(core.argmax_set._jit(logp)))

    @partial(aot.jit, static_argnames=("how",), name="tests.test_aot.object_static")
    def g(x, how):
        return x + how.shift

    class How:
        shift = 1.0

    np.testing.assert_array_equal(np.asarray(g(jnp.zeros(2), How())), [1.0, 1.0])  # no stable key: jax.jit
    assert aot.stats()["fallbacks"] > after["fallbacks"] and _files(cache) == []


def test_a_damaged_file_is_compiled_again(cache):
    # a program no other test compiles (JAX's session-wide cache would serve it, and then nothing is written)
    f = aot.jit(lambda x: jnp.sin(x) * 1.2345678 + 9.87654321, name="tests.test_aot.damaged")
    x = jnp.linspace(0.0, 1.0, 7)
    want = np.asarray(f(x))
    (name,) = _files(cache)
    (cache / name).write_bytes(b"not an executable")
    aot.clear()
    np.testing.assert_array_equal(np.asarray(f(x)), want)
    # removed; not written again from this process: JAX hands back the executable it already ran
    # (not a fresh compile: never serialized, see test_an_executable_served_by_jax_cache_is_not_written)
    assert _files(cache) == []
    aot.clear()
    np.testing.assert_array_equal(np.asarray(f(x)), want)


def test_clear_and_the_map_limit_guard_drop_the_held_executables(cache):
    key, logp, log_mu = _draws_args()
    core.argmax_set(logp)
    assert len(core.argmax_set._mem) == 1
    aot.clear()
    assert len(core.argmax_set._mem) == 0
    core.argmax_set(logp)
    assert release_compiled_if_near_map_limit(1e-9) is True
    assert len(core.argmax_set._mem) == 0


def test_names_and_bad_arguments():
    with pytest.raises(ValueError, match="already in use"):
        aot.jit(lambda x: x, name="sharpsim.core.bon_law")
    with pytest.raises(ValueError, match="already in use"):
        aot.jit(core.argmax_set._fun)  # the same module.qualname as the wrapped one
    with pytest.raises(ValueError, match="not a parameter"):
        aot.jit(lambda x: x, static_argnames=("y",), name="tests.test_aot.bad_static")
    with pytest.raises(ValueError, match="static_argnums"):
        aot.jit(lambda x: x, static_argnums=3, name="tests.test_aot.bad_argnum")
    with pytest.raises(TypeError, match="callable"):
        aot.jit(3)
    with pytest.raises(TypeError, match="name"):
        aot.jit(lambda x: x, name="")
    with pytest.raises(ValueError, match="partial"):
        aot.jit(partial(lambda x, o: x, o=object()))
    with pytest.raises(TypeError, match="path"):
        aot.set_cache_dir(3)
    f = aot.jit(partial(lambda x, s: x * s, s=2.0), name="tests.test_aot.partial")
    np.testing.assert_array_equal(np.asarray(f(jnp.ones(2))), [2.0, 2.0])
    assert hasattr(core.bon_law, "lower") and core.bon_law.__doc__ == core.bon_law._fun.__doc__


def test_an_executable_served_by_jax_cache_is_not_written(tmp_path):
    """XLA:CPU cannot serialize an executable it loaded from JAX's persistent cache faithfully (the
    file loads, then the call fails with 'Function ... not found'; seen before this rule): when JAX's
    cache served the compile, nothing is written, and later processes still work, with the same bits."""
    script = f"""
import sys, json, jax, numpy as np
sys.path.insert(0, {os.path.dirname(__file__)!r})
from test_aot import _draws_args
from sharpsim import aot
from sharpsim.sweep import enable_compilation_cache
from sharpsim import core
enable_compilation_cache({str(tmp_path / "jax")!r})
if sys.argv[1] == "xla-only":
    aot.set_cache_dir(None)
law = core.bon_law(_draws_args()[1], 3.0)
print(json.dumps({{"stats": aot.stats(), "law": np.asarray(law).tolist()}}))
"""
    outs = []
    for mode in ("xla-only", "both", "both"):
        r = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(__import__("json").loads(r.stdout.strip().splitlines()[-1]))
    assert outs[1]["stats"]["xla_served"] == 1 and outs[2]["stats"]["xla_served"] == 1
    assert _files(tmp_path / "jax" / "sharpsim-aot") == []
    assert outs[0]["law"] == outs[1]["law"] == outs[2]["law"]


def test_the_fingerprint_reads_the_package_and_the_linked_catalogue():
    files = aot.source_files()
    assert "aot.py" in files and "core.py" in files and os.path.join("algorithms", "sft.py") in files
    assert os.path.join("experiments", "amortization.py") in files  # jitted functions live there too
    assert not any("__pycache__" in f for f in files)


def test_the_wrapper_binds_as_a_method_and_copies(cache):
    import copy

    class Holder:
        f = core.argmax_set

    _, logp, _ = _draws_args()
    np.testing.assert_array_equal(np.asarray(Holder.f(logp)), np.asarray(core.argmax_set(logp)))
    g = copy.copy(core.argmax_set)
    np.testing.assert_array_equal(np.asarray(g(logp)), np.asarray(core.argmax_set(logp)))
    with pytest.raises(TypeError):
        Holder().f(logp)  # bound: the instance is the first argument, as with a function


def test_a_loaded_executable_that_fails_its_first_call_falls_back_to_jax_jit(cache, monkeypatch):
    """A file that loads but whose executable cannot run (XLA:CPU's 'Function ... not found' when a
    re-serialized executable lost kernels) is removed and the call goes to jax.jit."""
    from jax.experimental import serialize_executable as se

    f = aot.jit(lambda x: jnp.cos(x) * 2.5 - 0.125, name="tests.test_aot.fails_first_call")
    x = jnp.linspace(0.0, 2.0, 5)
    want = np.asarray(f(x))
    assert len(_files(cache)) == 1
    aot.clear()

    def broken(*a, **k):
        def call(*args, **kwargs):
            raise jax.errors.JaxRuntimeError("NOT_FOUND: Function wrapped_reduce not found (type id: 1)")
        return call

    monkeypatch.setattr(se, "deserialize_and_load", broken)
    before = aot.stats()["fallbacks"]
    np.testing.assert_array_equal(np.asarray(f(x)), want)
    assert aot.stats()["fallbacks"] == before + 1 and _files(cache) == []
    np.testing.assert_array_equal(np.asarray(f(x)), want)  # jax.jit from now on in this process


def test_threads_making_the_first_call_together_compile_once(cache, monkeypatch):
    """Two threads that make the first call of one new program at the same time (the engine's chunks of
    one batch do) get one executable: the second waits for the first's compile instead of compiling (or,
    in a warm process, loading) the same program again. The first thread's compile is held until the
    second has entered the loader, so the two surely overlap."""
    import threading

    f = aot.jit(lambda x: jnp.tanh(x) * 3.25 + 0.5, name="tests.test_aot.two_threads")
    x = jnp.linspace(-1.0, 1.0, 11)
    entered = {1: threading.Event(), 2: threading.Event()}
    lowered = []
    jitted = f._jit

    class SlowJit:  # f's jax.jit: its lower() waits until the second thread is in the loader
        def lower(self, *a, **k):
            lowered.append(threading.current_thread().name)
            assert entered[2].wait(30.0)
            return jitted.lower(*a, **k)

        def __call__(self, *a, **k):
            return jitted(*a, **k)

    monkeypatch.setattr(f, "_jit", SlowJit())
    load = f._load_or_compile

    def spy(*a, **k):
        entered[int(threading.current_thread().name)].set()
        return load(*a, **k)

    monkeypatch.setattr(f, "_load_or_compile", spy)
    out = {}

    def call(i):
        if i == 2:
            assert entered[1].wait(30.0)
        out[i] = np.asarray(f(x))

    threads = [threading.Thread(target=call, args=(i,), name=str(i)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    assert lowered == ["1"]  # one compile, in the first thread
    np.testing.assert_array_equal(out[1], out[2])
    np.testing.assert_array_equal(out[1], np.asarray(jitted(x)))
    assert len(_files(cache)) == 1 and not f._pending
