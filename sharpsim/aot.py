"""A persistent cache of compiled programs keyed by the call, so that a warm process skips JAX's tracing
and lowering as well as XLA's compile.

JAX's own persistent compilation cache (turned on by :func:`sharpsim.sweep.enable_compilation_cache`)
stores XLA executables keyed by the lowered program: a warm process still traces every jitted
function to a jaxpr and lowers it to MLIR before it can look the executable up. In a warm
``sharpsim reproduce --quick`` that was most of the run (measured: tracing ~6 s, lowering ~9 s and
cache retrieval ~3.5 s of ~26 s). :func:`jit` wraps ``jax.jit`` and, once :func:`set_cache_dir` has
named a folder, keys each call by what determines its program:

* the function (module and qualified name) and a fingerprint of the sharpsim sources (every
  ``.py`` file of the package, the linked ``experiments/`` included: any edit is a new key);
* jax, jaxlib and numpy versions, the backend (platform, version, device kind) and JAX's trace
  context (the configuration values ``jax.jit`` itself keys on: x64, rank promotion, ...);
* the pytree structure of the dynamic arguments, each leaf's shape, dtype and weak type, and the
  static arguments' values (ints, floats, strings, bools, None, tuples of them).

On a miss it lowers and compiles through ``jax.jit``, serializes the executable before its first run
(``jax.experimental.serialize_executable``; an XLA:CPU executable that has run once may no longer
serialize), writes it under the folder (atomically) and keeps it in memory; a later process loads
it at its first call instead of tracing. The executable is the one ``jax.jit`` would have run for
the same program, so results are bit for bit the same (tested on the wrapped functions; the quick
catalogue's results files are identical cold and warm).

An executable that JAX's own cache served is used but not written: XLA:CPU loses kernels when it
serializes a loaded executable again (the file loads, then the call fails). So after the sharpsim
sources change, the programs JAX's cache still holds are traced and lowered as before until that
folder is emptied; only freshly compiled programs get files. A file that does not load is removed
and its program compiled again; an executable whose first call raises a JAX runtime error is dropped
(file removed) and the call goes to ``jax.jit``. The folder is not pruned: each source fingerprint
writes its own files.

Everything else goes to ``jax.jit`` unchanged: no folder set (library use, ``SHARPSIM_NO_JAX_CACHE``),
a call inside a transformation (tracers, or any trace active: the call is part of the outer
program), ``jax.disable_jit``, more than one device, arguments of other kinds (e.g. a static argument
that is an object), and programs that do not serialize (closed-over constants, host callbacks).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import pathlib
import pickle
import threading

import jax
import numpy as np
from jax._src.config import trace_context as _trace_context  # the configuration jax.jit keys its cache on
from jax._src.core import trace_state_clean as _trace_state_clean  # True outside every transformation

__all__ = ["jit", "set_cache_dir", "cache_dir", "clear", "stats", "source_files"]

_FORMAT = "sharpsim-aot-1"
_DIR: list = [None]  # the folder of serialized executables, or None (off)
_LOCK = threading.Lock()
_INSTANCES: list = []  # every wrapped function (for clear())
_STATS = {"hits_memory": 0, "hits_disk": 0, "misses": 0, "fallbacks": 0, "unserializable": 0, "xla_served": 0}
_TLS = threading.local()  # per compiling thread: compiled (XLA ran or JAX's cache loaded), xla_hit (the cache did)
_SERVED: set = set()  # ids of executables not compiled fresh here (never serialized; a reused id only skips a write)
_LISTENING: list = []
_FINGERPRINT: list = []  # [hex digest] once computed

_STATIC_TYPES = (int, float, str, bool, type(None))


class _Uncacheable(Exception):
    """This call goes to jax.jit unchanged."""


def set_cache_dir(path: str | os.PathLike | None) -> None:
    """Store and load compiled programs under ``path`` (created if needed); None turns the cache off
    (every call then goes straight to ``jax.jit``). :func:`sharpsim.sweep.enable_compilation_cache`
    calls this with ``<jax cache>/sharpsim-aot``."""
    if path is None:
        _DIR[0] = None
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str, os.PathLike or None; got {type(path).__name__}")
    os.makedirs(path, exist_ok=True)
    _DIR[0] = os.fspath(path)


def cache_dir() -> str | None:
    """The folder in use, or None when the cache is off."""
    return _DIR[0]


def clear() -> None:
    """Drop the executables held in memory by every wrapped function (the files stay);
    :func:`sharpsim.sweep.release_compiled_if_near_map_limit` calls this with ``jax.clear_caches``."""
    for inst in _INSTANCES:
        inst._mem.clear()
        inst._unverified.clear()


def stats() -> dict:
    """Counts since the process started: calls served from memory, loaded from the folder, compiled
    (misses), sent to ``jax.jit`` unchanged (fallbacks), programs that did not serialize, and misses
    whose executable was not freshly compiled (JAX's persistent cache served it now or earlier in the
    process; not written: see :meth:`_CachedJit._load_or_compile`)."""
    return dict(_STATS)


def _on_event(event, **_):
    if event == "/jax/compilation_cache/cache_hits":  # recorded in the thread that compiles
        _TLS.xla_hit = True


def _on_duration(event, duration, **_):
    if event == "/jax/core/compile/backend_compile_duration":  # XLA compiled or JAX's cache loaded
        _TLS.compiled = True


def _listen_for_compiles():
    with _LOCK:
        if not _LISTENING:
            jax.monitoring.register_event_listener(_on_event)
            jax.monitoring.register_event_duration_secs_listener(_on_duration)
            _LISTENING.append(True)


def source_files() -> list:
    """The package's ``.py`` files (paths relative to it, sorted) that the fingerprint reads, through
    the ``sharpsim/experiments`` link to the catalogue."""
    root = pathlib.Path(__file__).resolve().parent
    out = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        out += [str(pathlib.Path(folder, n).relative_to(root)) for n in names if n.endswith(".py")]
    return sorted(out)


def _fingerprint() -> str:
    """SHA-256 over the package's ``.py`` files (relative path and bytes) and the versions that shape
    a program; computed once per process (~10 ms)."""
    if not _FINGERPRINT:
        import jaxlib

        root = pathlib.Path(__file__).resolve().parent
        h = hashlib.sha256(_FORMAT.encode())
        for rel in source_files():
            h.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
        dev = jax.devices()[0]
        for part in (jax.__version__, jaxlib.__version__, np.__version__, dev.platform,
                     getattr(dev.client, "platform_version", ""), getattr(dev, "device_kind", "")):
            h.update(str(part).encode() + b"\0")
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _one_device() -> bool:
    """Whether the process sees a single device (the executables are bound to it); asked once."""
    if not _ONE_DEVICE:
        _ONE_DEVICE.append(len(jax.devices()) == 1)
    return _ONE_DEVICE[0]


_ONE_DEVICE: list = []


def _stable(value):
    """``value`` as a string that is the same in every process, for the file key; raises
    :class:`_Uncacheable` for values whose repr is not (objects shown by address)."""
    if isinstance(value, _STATIC_TYPES) or hasattr(value, "value") and isinstance(value.value, _STATIC_TYPES):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, tuple):
        return "(" + ",".join(_stable(v) for v in value) + ")"
    raise _Uncacheable


def _stable_or_type(value):
    """:func:`_stable`, or the type's name for an object of the trace context (its axis environment,
    always empty here: the cache serves calls at the top level only)."""
    try:
        return _stable(value)
    except _Uncacheable:
        return type(value).__name__


def _leaf_sig(x):
    """(shape, dtype, weak type) of one dynamic argument, as ``jax.jit`` sees it (a few hundred ns for
    the common kinds: the check runs on every call)."""
    t = type(x)
    if t is _ARRAY_IMPL:
        return (x.shape, x.dtype, x.weak_type)
    if t is float:
        return _FLOAT_SIG
    if t is bool:
        return _BOOL_SIG
    if t is int:
        return _INT_SIG
    if isinstance(x, jax.core.Tracer):
        raise _Uncacheable
    if isinstance(x, jax.Array):  # typed key arrays (never weak), other array kinds
        return (x.shape, x.dtype, bool(getattr(x, "weak_type", False)))
    if isinstance(x, (np.ndarray, np.generic)):
        return (x.shape, x.dtype, False)
    raise _Uncacheable


try:  # the concrete array type (the fast path above; other jax.Array kinds take the general branch)
    from jax._src.array import ArrayImpl as _ARRAY_IMPL
except ImportError:  # pragma: no cover - a JAX without it
    _ARRAY_IMPL = None
_FLOAT_SIG, _BOOL_SIG, _INT_SIG = ((), "float", True), ((), "bool", False), ((), "int", True)


class _CachedJit:
    """``jax.jit(fun, static_argnames=...)`` with the persistent executable cache (:mod:`sharpsim.aot`)."""

    def __init__(self, fun, static_argnames, static_argnums, name):
        self._fun = fun
        self._name = name
        params = list(inspect.signature(fun).parameters.values())
        names = [p.name for p in params]
        for i in static_argnums:
            if not 0 <= i < len(params) or params[i].kind not in (params[i].POSITIONAL_ONLY,
                                                                   params[i].POSITIONAL_OR_KEYWORD):
                raise ValueError(f"static_argnums: {i} is not a positional parameter of {name}")
        static_argnames = tuple(static_argnames) + tuple(names[i] for i in static_argnums if names[i] not in
                                                         static_argnames)
        for s in static_argnames:
            if s not in names:
                raise ValueError(f"static argument {s!r} is not a parameter of {name}")
        self._jit = jax.jit(fun, static_argnames=static_argnames)
        self._static = frozenset(static_argnames)
        self._static_pos = tuple(i for i, p in enumerate(params) if p.name in self._static
                                 and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        self._has_varargs = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)
        self._mem: dict = {}
        self._unverified: dict = {}  # key -> file of an executable loaded but not yet run
        self._pending: dict = {}  # key -> threading.Event of the thread loading or compiling it now
        functools.update_wrapper(self, fun)
        _INSTANCES.append(self)

    def __getattr__(self, name):  # lower, trace, eval_shape, clear_cache, ... of the jax.jit object
        if name.startswith("__") or name in ("_jit", "_fun", "_mem", "_unverified", "_pending", "_name", "_static",
                                                 "_static_pos"):
            raise AttributeError(name)  # (not set yet, e.g. while unpickling: no recursion)
        return getattr(self._jit, name)

    def __get__(self, obj, objtype=None):  # as a function (and jax.jit): bound as a method on instances
        return self if obj is None else functools.partial(self, obj)

    def _split(self, args, kwargs):
        """(dynamic args, dynamic kwargs, static values in a fixed order)."""
        if self._static_pos:
            dyn = tuple(a for i, a in enumerate(args) if i not in self._static_pos)
            statics = [(i, args[i]) for i in self._static_pos if i < len(args)]
        else:
            dyn, statics = args, []
        dkw = {}
        for k, v in kwargs.items():
            if k in self._static:
                statics.append((k, v))
            else:
                dkw[k] = v
        return dyn, dkw, tuple(statics)

    def __call__(self, *args, **kwargs):
        folder = _DIR[0]
        if folder is None or self._has_varargs or jax.config.jax_disable_jit or not _one_device():
            return self._jit(*args, **kwargs)
        if not _trace_state_clean():  # inside a transformation: part of the outer program
            return self._jit(*args, **kwargs)
        try:
            dyn, dkw, statics = self._split(args, kwargs) if (self._static or kwargs) else (args, {}, ())
            leaves, tree = jax.tree_util.tree_flatten((dyn, dkw))
            key = (tree, tuple(_leaf_sig(x) for x in leaves), statics, _trace_context())
            exe = self._mem.get(key)
        except (_Uncacheable, TypeError):  # TypeError: an unhashable static value (jax.jit explains)
            _STATS["fallbacks"] += 1
            return self._jit(*args, **kwargs)
        if exe is None:
            exe = self._load_or_compile(folder, key, args, kwargs)
        else:
            _STATS["hits_memory"] += 1
        if exe is self._jit:
            return self._jit(*args, **kwargs)
        # the first call of a loaded executable (pop: one atomic step, so two threads making that first
        # call at once do not both take it)
        path = self._unverified.pop(key, None) if self._unverified else None
        if path is not None:
            try:
                return exe(*dyn, **dkw)
            except jax.errors.JaxRuntimeError:  # e.g. a kernel missing from the file: drop it, use jax.jit
                _remove(path)
                self._mem[key] = self._jit
                _STATS["fallbacks"] += 1
                return self._jit(*args, **kwargs)
        return exe(*dyn, **dkw)

    def _file_key(self, key) -> str:
        tree, sigs, statics, ctx = key
        ctx_s = tuple(_stable_or_type(v) for v in ctx)
        sigs_s = tuple((shape, str(dtype), weak) for shape, dtype, weak in sigs)
        text = repr((_fingerprint(), self._name, str(tree), sigs_s, tuple((k, _stable(v)) for k, v in statics), ctx_s))
        return hashlib.sha256(text.encode()).hexdigest()

    def _load_or_compile(self, folder, key, args, kwargs):
        """The executable for ``key``, loaded or compiled by one thread at a time: a thread that finds
        another one loading or compiling the same key waits for it and takes its executable (the engine
        runs the chunks of one batch on several threads, which all make the first call of a new shape
        together; each used to compile, or load, the same program)."""
        while True:
            with _LOCK:
                exe = self._mem.get(key)
                if exe is not None:
                    _STATS["hits_memory"] += 1
                    return exe
                done = self._pending.get(key)
                if done is None:
                    done = self._pending[key] = threading.Event()
                    break
            done.wait()  # then the executable is in _mem (or that thread failed: try again here)
        try:
            return self._load_or_compile_now(folder, key, args, kwargs)
        finally:
            with _LOCK:
                del self._pending[key]
            done.set()

    def _load_or_compile_now(self, folder, key, args, kwargs):
        from jax.experimental import serialize_executable as se

        try:
            path = os.path.join(folder, self._file_key(key) + ".exe")
        except _Uncacheable:
            self._mem[key] = self._jit
            _STATS["fallbacks"] += 1
            return self._jit
        exe = None
        if os.path.exists(path):
            try:
                with open(path, "rb") as f:
                    payload, in_tree, out_tree = pickle.load(f)
                exe = se.deserialize_and_load(payload, in_tree, out_tree)
                self._unverified[key] = path
                _STATS["hits_disk"] += 1
            except Exception:  # a damaged or foreign file: removed, then compiled again (written if fresh)
                exe = None
                _remove(path)
        if exe is None:
            _listen_for_compiles()
            _TLS.xla_hit = _TLS.compiled = False
            exe = self._jit.lower(*args, **kwargs).compile()
            _STATS["misses"] += 1
            blob = None
            fresh = _TLS.compiled and not _TLS.xla_hit and id(exe.runtime_executable()) not in _SERVED
            if not fresh:
                # JAX's cache served a loaded executable (now, or earlier and JAX kept it in memory, so
                # no compile ran now): serializing it again loses kernels on XLA:CPU (the file loads,
                # then the call fails: "Function slice_bitcast_fusion.4 not found"), so only freshly
                # compiled executables are written
                _SERVED.add(id(exe.runtime_executable()))
                _STATS["xla_served"] += 1
            else:
                try:
                    blob = pickle.dumps(se.serialize(exe), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # closed-over constants, host callbacks, ...: keep it for this process only
                    _STATS["unserializable"] += 1
            if blob is not None:
                tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
                try:
                    with open(tmp, "wb") as f:
                        f.write(blob)
                    os.replace(tmp, path)
                except OSError:  # a read-only or full folder costs the cache, not the result
                    _remove(tmp)
        with _LOCK:
            self._mem[key] = exe
        return exe


_NAMES: set = set()  # the names in use: two wrapped functions may not share one (their files would mix)


def _default_name(fun) -> str:
    """module.qualname, with a partial's bound arguments (which must have stable reprs)."""
    if isinstance(fun, functools.partial):
        try:
            bound = _stable(tuple(fun.args)) + _stable(tuple(sorted(fun.keywords.items())))
        except _Uncacheable:
            raise ValueError("aot.jit of a functools.partial needs bound arguments of plain types "
                             "(int, float, str, bool, None, tuples) or an explicit name") from None
        return f"{_default_name(fun.func)}{bound}"
    module, qualname = getattr(fun, "__module__", None), getattr(fun, "__qualname__", None)
    if not module or not qualname:
        raise ValueError(f"aot.jit cannot name {fun!r}; pass name=")
    return f"{module}.{qualname}"


def jit(fun=None, *, static_argnames=(), static_argnums=(), name=None):
    """``jax.jit`` with the persistent executable cache of :mod:`sharpsim.aot` (same results, same
    call signature; usable as ``@jit``, ``@partial(jit, static_argnames=(...))`` or
    ``jit(f, static_argnums=...)``). ``name`` (default: module.qualname of ``fun``) keys its files:
    it must be unique in the process (a second function of the same name raises ValueError, e.g.
    ``jit(jax.vmap(f))`` beside ``jit(f)``: pass ``name=``). The wrapped object forwards ``lower``,
    ``trace``, ``eval_shape`` and the rest of ``jax.jit``'s attributes."""
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if fun is None:
        return functools.partial(jit, static_argnames=tuple(static_argnames), static_argnums=tuple(static_argnums),
                                 name=name)
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {type(fun).__name__}")
    name = _default_name(fun) if name is None else name
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str; got {name!r}")
    with _LOCK:
        if name in _NAMES:
            raise ValueError(f"aot.jit: the name {name!r} is already in use; pass a unique name=")
        _NAMES.add(name)
    return _CachedJit(fun, tuple(static_argnames), tuple(static_argnums), name)
