"""The gradscript interpreter: lowers the AST into Python closures once, then runs them.

Each expression node becomes a closure `f(env) -> value` and each statement a closure `f(env) -> signal`,
where the signal is None (go on), BREAK, CONTINUE or RETURN (the value waits in `env[1]`). So a loop body
runs without dispatching on node types and without exceptions for control flow.

Scopes follow Python 3: `env` is a dict of the running scope's names. At the top level it is `globals`
itself; a function call, a comprehension and a class body get a fresh dict whose key `0` holds the env of
the enclosing function scope (never a class body), so a free name is found by following `0` a number of
times fixed at compile time. Int keys cannot clash with names and are never visible to a script.

The sandbox: a script reaches only what this module hands it. There is no eval/exec of script text, every
attribute read or write goes through `script_getattr`/`script_setattr` (allow-lists per type, nothing
starting with `_`), imports come only from the `modules` table, builtins only from `_make_builtins`, and
values that could explode (huge ints, repeated sequences, wide format fields) are refused before they are
computed. Step, time and call-depth limits are counted as the program runs.

A limit (LimitError, out of memory included), Ctrl-C (KeyboardInterrupt) and a closed stdout (OutputClosed)
end the whole program at once: no `except` in the script sees them, and `finally` blocks do not run for
them (a `finally` could otherwise loop again past the limit). Only the script's own errors unwind through
`except` and `finally` as in Python.
"""

from __future__ import annotations

import builtins as _py
import gc
import math
import operator
import re
import string
import sys
import time
import types
import typing
import warnings
from itertools import islice

from . import limits as limits_module
from . import syntax as S
from .errors import LimitError, OutputClosed, ScriptError, ScriptRuntimeError, ScriptSyntaxError
from .limits import DEFAULT, Limits
from .torchlib import ScriptModule, build_modules, is_pytorch_name

# ----------------------------------------------------------------- control signals
BREAK = object()
CONTINUE = object()
RETURN = object()  # the returned value is in env[1]
_MISSING = object()

# Python's recursion limit while a script runs (at least), and the frames kept free below a script's
# deepest point for the engine and helpers. Script calls are refused (RecursionError) before Python's own
# limit is reached, so a deep script never meets a RecursionError inside the interpreter's own code; the
# limit stays low enough that C code recursing under it (repr of nested lists) cannot overflow the C stack.
_RECURSION_LIMIT = 20_000
_SAFE_RECURSION_LIMIT = 24_000  # C recursion under the limit stays within an 8 MB stack (see above)
_FRAME_MARGIN = 1_500
_INT_DIGITS = 4300  # Python's default int <-> str digit limit
_HOST_FRAMES = 500  # the stack of whoever calls run() (CLI, REPL, test runner), at most


# ----------------------------------------------------------------- locations and errors
class _Where:
    """Where a node is, ready to be stamped on an error."""

    __slots__ = ("line", "column", "end_column", "source_line", "filename")

    def __init__(self, line, column, end_column, source_line, filename):
        self.line = line
        self.column = column
        self.end_column = end_column
        self.source_line = source_line
        self.filename = filename


def _kind(exc: BaseException) -> str:
    """The exception's name as Python's traceback shows it."""
    t = type(exc)
    if t.__module__ in ("builtins", "__main__"):
        return t.__qualname__
    return t.__name__


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"


# What an exception's args must not hand a script's `except ... as e` (e.args is the one attribute a
# script may read): objects of the array libraries (numpy's UFuncTypeError carries the ufunc itself, which
# a script could call to make numpy arrays) and of the interpreter's own machinery.
_FOREIGN_MODULES = ("numpy", "cupy", "cupyx")
_FOREIGN_TYPES = (types.FrameType, types.TracebackType, types.CodeType, types.ModuleType)


def _foreign(value, depth: int = 0) -> bool:
    if isinstance(value, (str, int, float)) or value is None:
        return False
    if isinstance(value, _FOREIGN_TYPES) or type(value).__module__.partition(".")[0] in _FOREIGN_MODULES:
        return True
    if isinstance(value, (tuple, list)) and depth < 3:
        return any(_foreign(v, depth + 1) for v in value[:100])
    return False


def _runtime_error(exc: BaseException) -> ScriptError:
    if isinstance(exc, MemoryError):
        # Out of memory is a limit, like the step budget: the script cannot catch it and go on.
        return limits_module.memory_error(exc)
    message = _message(exc)
    err = ScriptRuntimeError(message, kind=_kind(exc))
    try:
        if any(_foreign(a) for a in exc.args):
            exc.args = (message,)  # same class and str(), but nothing of numpy's left in e.args
    except Exception:
        exc.args = (message,)
    err.exception = exc  # what a script's `except ... as e` binds
    err.__cause__ = exc
    return err


def _error_at(exc: BaseException, where: _Where) -> ScriptError:
    """`exc` as a located ScriptError; an error already located keeps its (innermost) position."""
    if not isinstance(exc, ScriptError):
        exc = _runtime_error(exc)
    return exc.located(
        line=where.line,
        column=where.column,
        end_column=where.end_column,
        source_line=where.source_line,
        filename=where.filename,
    )


def _raise_at(exc: BaseException, where: _Where) -> typing.NoReturn:
    """Raise `exc` as a located ScriptError (called from `except` blocks: the original stays the cause)."""
    raise _error_at(exc, where)


def _script_exception(err: ScriptRuntimeError) -> BaseException:
    """The Python exception a script's handler sees for `err`."""
    exc = getattr(err, "exception", None)
    if exc is None:
        cls = _EXCEPTIONS.get(err.kind, RuntimeError)
        exc = err.exception = cls(err.message)
    return exc


# ----------------------------------------------------------------- the attribute policy
# Methods of Python's own types that a script may use. A value is None (plain) or a guard that wraps the
# bound method to refuse arguments that would build something huge.
def _guard_width(method):
    def guarded(width, *args):
        if isinstance(width, int) and width > limits_module.active.max_sequence:
            raise _sequence_limit(width)
        return method(width, *args)

    return guarded


def _guard_replace(method):
    def guarded(old, new, count=-1):
        text = method.__self__
        if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
            hits = text.count(old) if old else len(text) + 1
            if 0 <= count < hits:
                hits = count
            size = len(text) + hits * (len(new) - len(old))
            if size > limits_module.active.max_sequence:
                raise _sequence_limit(size)
        return method(old, new, count)

    return guarded


def _guard_join(method):
    def guarded(parts):
        parts = list(parts)
        try:
            size = sum(map(len, parts)) + len(method.__self__) * max(0, len(parts) - 1)
        except TypeError:
            size = 0  # not all strings: join itself raises Python's error
        if size > limits_module.active.max_sequence:
            raise _sequence_limit(size)
        return method(parts)

    return guarded


def _guard_extend(method):
    def guarded(items):
        if hasattr(items, "__len__"):  # iterators come from bounded sources (ranges count their steps)
            size = len(method.__self__) + len(items)
            if size > limits_module.active.max_sequence:
                raise _sequence_limit(size)
        return method(items)

    return guarded


# ----------------------------------------------------------------- nesting that C code recurses through
# CPython hashes a tuple by hashing its items, and iterates a map/filter/zip/enumerate by iterating the
# iterator inside, recursing in C with no depth check at all: hashing a 100,000-deep tuple or running a
# 100,000-deep chain of maps overflows the C stack and kills the process. (repr, ==, isinstance and the
# like are guarded by the recursion limit instead.) A script builds such nesting in a loop, so it is
# refused where the recursion would start: tuples where something hashes them, chains when they grow.
# The walks count paths, not objects: `t = (t, t)` shares one tuple twice per level, and hashing it (or
# iterating `z = zip(z, z)`) takes time exponential in the depth, all of it inside one C call.
_HASH_DEPTH = 10_000  # tuples nested deeper cannot be hashed (a dict key, `in` a dict or a set)
_HASH_ITEMS = 10_000_000  # nor can a tuple whose hash would visit more items than this
_CHAIN_DEPTH = 1_000  # map/filter/zip/enumerate nested deeper cannot be made
_CHAIN_PATHS = 100_000  # nor can a chain that one step of iteration would visit more often than this
_CHAINS = (map, filter, zip, enumerate)
_DICT_VIEWS = (type({}.keys()), type({}.items()), type({}.values()))


def _check_key(key) -> None:
    """Refuse to hash a tuple nested deeper than _HASH_DEPTH or holding more than _HASH_ITEMS items counted
    the way hashing visits them (walked with a list, not recursion)."""
    if not isinstance(key, tuple):
        return
    stack = [(key, 1)]
    visits = 0
    while stack:
        t, depth = stack.pop()
        if depth > _HASH_DEPTH:
            raise RecursionError(f"maximum recursion depth exceeded while hashing a tuple (nested more than "
                                 f"{_HASH_DEPTH:,} deep)")
        visits += len(t)
        if visits > _HASH_ITEMS:
            raise LimitError(f"a tuple of more than {_HASH_ITEMS:,} items (counting shared ones each time) "
                             "is too large to hash")
        for item in t:
            if isinstance(item, tuple):
                stack.append((item, depth + 1))


def _check_keys(items) -> list:
    """`items` (any iterable) as a list, each checked as a key."""
    items = list(items)
    for k in items:
        _check_key(k)
    return items


def _check_pairs(pairs) -> list:
    """The (key, value) pairs of dict(pairs) / d.update(pairs) as a list, their keys checked."""
    pairs = list(pairs)
    for p in pairs:
        if isinstance(p, (tuple, list)) and len(p) == 2:
            _check_key(p[0])
    return pairs


def _check_chain(args) -> None:
    """Refuse a map/filter/zip/enumerate over iterators of those kinds nested _CHAIN_DEPTH deep."""
    stack = [(a, 1) for a in args if isinstance(a, _CHAINS)]
    visits = 0
    while stack:
        it, depth = stack.pop()
        visits += 1
        if depth >= _CHAIN_DEPTH or visits > _CHAIN_PATHS:
            raise RecursionError(f"maximum recursion depth exceeded: iterators (map, filter, zip, enumerate) "
                                 f"nested more than {_CHAIN_DEPTH:,} deep or {_CHAIN_PATHS:,} times in all")
        for inner in it.__reduce__()[1]:
            if isinstance(inner, _CHAINS):
                stack.append((inner, depth + 1))


class _GuardedType(type):
    """A builtin type as a script sees it: calling it checks the arguments first and returns a plain
    instance of the real type, while isinstance(), issubclass(), repr() and class attributes behave as
    the real type's."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls._real)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls._real)

    def __repr__(cls):
        return repr(cls._real)


def _guarded_type(real: type, check):
    def __new__(cls, *args, **kwargs):  # noqa: N807
        if check is _chain_args:
            args, kwargs = _chain_args(real, args, kwargs)
            return real(*args, **kwargs)
        return real(*check(args), **kwargs)

    return _GuardedType(real.__name__, (real,), {
        "__new__": __new__, "_real": real, "__module__": "builtins", "__qualname__": real.__qualname__,
    })


def _dict_args(args):
    if args and not isinstance(args[0], dict):
        args = (_check_pairs(args[0]), *args[1:])
    return args


def _chain_args(real: type, args: tuple, kwargs: dict):
    """The arguments of map/filter/zip/enumerate with their iterables already turned into iterators, as
    the real constructor would at once, then checked: a script class's __iter__ can hand back a chain
    that the arguments themselves do not show (`map(abs, Wrapper(m))`), and CPython would nest it."""
    if real is zip:
        args = tuple(map(iter, args))
    elif real is map or (real is filter and len(args) == 2):
        args = (args[0], *map(iter, args[1:]))
    elif real is enumerate:
        if 1 <= len(args) <= 2 and "iterable" not in kwargs:
            args = (iter(args[0]), *args[1:])
        elif not args and "iterable" in kwargs:
            kwargs = {**kwargs, "iterable": iter(kwargs["iterable"])}
    _check_chain((*args, *kwargs.values()))
    return args, kwargs


_SCRIPT_DICT = _guarded_type(dict, _dict_args)


def _int_new(cls, *args, **kwargs):
    """int(): from a string in a power-of-two base (int('f' * 10**7, 16)), or from a long decimal string
    under a small --max-int-bits, an integer past the limit is made in linear time; it is refused as
    arithmetic refuses one."""
    value = int(*args, **kwargs)
    if args and isinstance(args[0], (str, bytes, bytearray)):
        bits = value.bit_length()
        limit = limits_module.active.max_int_bits
        if bits > limit:
            raise _int_limit(bits, limit)
    return value


_SCRIPT_INT = _GuardedType("int", (int,), {
    "__new__": _int_new, "_real": int, "__module__": "builtins", "__qualname__": "int",
})
_SCRIPT_CHAINS = {t.__name__: _guarded_type(t, _chain_args) for t in _CHAINS}


def _guard_key(method):
    def guarded(key, *args):
        _check_key(key)
        return method(key, *args)

    return guarded


def _guard_update(method):
    def guarded(*args, **kwargs):
        return method(*_dict_args(args), **kwargs)

    return guarded


def _plain(*names):
    return dict.fromkeys(names)


class _ScriptFormatter(string.Formatter):
    """str.format for scripts: a field names a positional or keyword argument and nothing more ({0.x} and
    {0[k]} would look attributes and items up past the sandbox); every spec is held to the width limit."""

    def get_field(self, field_name, args, kwargs):
        if "." in field_name or "[" in field_name:
            raise ValueError(f"gradscript's str.format takes no attribute or item lookup in a field: "
                             f"{{{field_name}}}")
        return super().get_field(field_name, args, kwargs)

    def __init__(self, size: int = 0):
        self.size = size  # what the fields have made so far (one formatter per call: formats nest)

    def format_field(self, value, format_spec):
        lim = limits_module.active
        _check_spec(format_spec, lim)
        text = format(value, format_spec)
        self.size += len(text)
        if self.size > lim.max_sequence:  # ('{}{}'.format(s, s) in a loop doubles, as s + s would)
            raise _sequence_limit(self.size)
        return text


def _guard_format(method):
    def guarded(*args, **kwargs):
        text = method.__self__
        return _ScriptFormatter(len(text)).vformat(text, args, kwargs)

    return guarded


_STR_METHODS = _plain(
    *"""upper lower strip lstrip rstrip split rsplit splitlines startswith endswith count find rfind index
    rindex isdigit isalpha isalnum isspace isupper islower isnumeric isdecimal isidentifier istitle
    title capitalize swapcase casefold partition rpartition removeprefix removesuffix""".split()
)
_STR_METHODS.update(
    center=_guard_width, ljust=_guard_width, rjust=_guard_width, zfill=_guard_width, replace=_guard_replace,
    join=_guard_join, format=_guard_format,
)
_INT_METHODS = _plain("is_integer", "real", "imag", "conjugate", "bit_length", "numerator", "denominator")
_BUILTIN_ATTRS: dict[type, dict] = {
    str: _STR_METHODS,
    list: {
        **_plain("append", "pop", "insert", "index", "count", "reverse", "sort", "copy", "remove", "clear"),
        "extend": _guard_extend,
    },
    dict: {
        **_plain("keys", "values", "items", "popitem", "copy", "clear"),
        "get": _guard_key, "pop": _guard_key, "setdefault": _guard_key, "update": _guard_update,
    },
    tuple: _plain("index", "count"),
    int: _INT_METHODS,
    float: _plain("is_integer", "real", "imag", "conjugate", "as_integer_ratio"),
    complex: _plain("real", "imag", "conjugate"),
    range: _plain("start", "stop", "step", "index", "count"),
    slice: _plain("start", "stop", "step"),
    BaseException: _plain("args"),
}

_OPEN = "open"  # policy marker: any non-underscore attribute (the Function ctx)
_SCRIPT_CLASS = "script class"  # policy marker: an instance of a class the script defined
_policies: dict[type, object] = {}


def _allowed_names(cls: type) -> dict:
    """Attribute names an engine or builtin class `cls` grants a script (not script classes)."""
    allowed = dict(_BUILTIN_ATTRS.get(cls, ()))
    for name in cls.__dict__.get("SCRIPT_ATTRS", ()):
        allowed.setdefault(name, None)
    return allowed


def _policy(t: type):
    """The read policy for instances of `t` (cached; script classes are looked at live)."""
    policy = _policies.get(t)
    if policy is not None:
        return policy
    if _is_script_class(t):
        return _SCRIPT_CLASS
    if getattr(t, "SCRIPT_OPEN", False):
        policy = _OPEN
    else:
        policy = {}
        for k in reversed(t.__mro__):
            policy.update(_allowed_names(k))
    _policies[t] = policy
    return policy


def _is_script_class(cls) -> bool:
    """Every class a script defines carries the marker in its own dict (scripts cannot bind dunders)."""
    return isinstance(cls, type) and cls.__dict__.get("__gradscript__", False) is True


def _class_grants(cls: type, name: str) -> bool:
    """Whether `name` is an attribute a script may read from class `cls` or its instances (not the
    instance's own dict): a member a script class defined, or one an engine/builtin base allows."""
    for k in cls.__mro__:
        if k.__dict__.get("__gradscript__", False) is True:
            if name in k.__dict__:
                return True
        elif k is not object and name in _allowed_names(k):
            return True
    return False


def _class_guard(cls: type, name: str):
    """The guard `instance.name` gets, for `cls.name` (an unbound method: str.format, dict.update)."""
    for k in cls.__mro__:
        if k.__dict__.get("__gradscript__", False) is True:
            if name in k.__dict__:
                return None
        elif k is not object:
            allowed = _allowed_names(k)
            if name in allowed:
                return allowed[name]
    return None


class _GuardedUnbound:
    """`str.format`, `dict.update`, `list.extend`, ... read from the class: the method descriptor, bound to
    its first argument on each call and then guarded as the instance's method is. The bare descriptor would
    skip the guards: str.format('{0.__globals__}', f) looked attributes up past the sandbox, and
    str.center('a', 10**9) or dict.update(d, pairs) went past the limits."""

    __slots__ = ("descriptor", "guard", "owner", "name")

    def __init__(self, descriptor, guard, owner: type, name: str):
        self.descriptor = descriptor
        self.guard = guard
        self.owner = owner
        self.name = name

    def __call__(self, *args, **kwargs):
        if not args:
            raise TypeError(f"unbound method {self.owner.__name__}.{self.name}() needs an argument")
        bound = self.descriptor.__get__(args[0], type(args[0]))  # (Python's TypeError for another type)
        return self.guard(bound)(*args[1:], **kwargs)

    def __repr__(self):
        return repr(self.descriptor)


def _no_attribute(obj, name: str) -> AttributeError:
    if isinstance(obj, type):
        return AttributeError(f"type object '{obj.__name__}' has no attribute '{name}'")
    tname = type(obj).__name__
    if hasattr(type(obj), name) or (tname == "Tensor" and is_pytorch_name("Tensor", name)):
        return AttributeError(f"'{tname}' object attribute '{name}' is not available in gradscript")
    return AttributeError(f"'{tname}' object has no attribute '{name}'")


def _private(name: str) -> AttributeError:
    return AttributeError(
        f"gradscript does not allow access to attribute '{name}' (names starting with '_' are private)"
    )


def script_getattr(obj, name: str):
    """`obj.name` as a script may see it: the one place attribute reads are decided."""
    if name[:1] == "_":
        raise _private(name)
    t = type(obj)
    if t is ScriptModule:
        try:
            return obj.members[name]
        except KeyError:
            if is_pytorch_name(obj.name, name):  # (PyTorch's, outside the subset: not "has no attribute")
                raise AttributeError(f"module '{obj.name}' attribute '{name}' is not available in "
                                     "gradscript") from None
            raise AttributeError(f"module '{obj.name}' has no attribute '{name}'") from None
    if isinstance(obj, type):
        if _class_grants(obj, name):
            value = getattr(obj, name)
            guard = _class_guard(obj, name)
            return value if guard is None else _GuardedUnbound(value, guard, obj, name)
        raise _no_attribute(obj, name)
    policy = _policy(t)
    if policy.__class__ is dict:
        if name in policy:
            guard = policy[name]
            value = getattr(obj, name)
            if value is None and name == "grad_fn":  # (a tensor's: a view's out-of-date node is remade
                value = obj._current_grad_fn()          # when read, Tensor._current_grad_fn)
            return value if guard is None else guard(value)
        raise _no_attribute(obj, name)
    if policy is _OPEN:
        return getattr(obj, name)
    # an instance of a script class: its own attributes and its classes' members
    d = getattr(obj, "__dict__", None)
    if (d is not None and name in d) or _class_grants(t, name):
        return getattr(obj, name)
    raise _no_attribute(obj, name)


def script_setattr(obj, name: str, value) -> None:
    """`obj.name = value` as a script may do it."""
    if name[:1] == "_":
        raise _private(name)
    t = type(obj)
    if t is ScriptModule:
        raise AttributeError(f"gradscript cannot set attributes of module '{obj.name}'")
    if isinstance(obj, type):
        if _is_script_class(obj):
            setattr(obj, name, value)
            return
        raise TypeError(f"cannot set '{name}' attribute of immutable type '{obj.__name__}'")
    if name in getattr(t, "SCRIPT_SETTABLE", ()):
        setter = getattr(t, "script_set_" + name, None)  # (a setter that checks what a script assigns)
        if setter is not None:
            setter(obj, value)
        else:
            setattr(obj, name, value)
        return
    policy = _policy(t)
    if policy is _OPEN or policy is _SCRIPT_CLASS:
        setattr(obj, name, value)
        return
    if hasattr(t, name):  # (PyTorch names its tensors' C base class here)
        tensor = t.__name__ == "Tensor" and t.__module__ == "gradcli.tensor"
        owner = "torch._C.TensorBase" if tensor else t.__name__
        raise AttributeError(f"attribute '{name}' of '{owner}' objects is not writable")
    raise AttributeError(f"'{t.__name__}' object has no attribute '{name}'")


def script_delattr(obj, name: str) -> None:
    if name[:1] == "_":
        raise _private(name)
    policy = _policy(type(obj)) if not isinstance(obj, type) else None
    if policy is _OPEN or policy is _SCRIPT_CLASS or (policy is None and _is_script_class(obj)):
        delattr(obj, name)
        return
    raise AttributeError(f"gradscript cannot delete attribute '{name}' of a '{type(obj).__name__}' object")


def script_hasattr(obj, name) -> bool:
    if not isinstance(name, str):
        raise TypeError("hasattr(): attribute name must be string")
    try:
        script_getattr(obj, name)
    except AttributeError:
        return False
    return True


# What the REPL's Tab completion reads: the same policy as script_getattr, decided without reading any
# attribute (a property may run a script's code, or compute: `.T` transposes), so nothing runs.
_ABSENT = object()
_UNKNOWN = object()  # the attribute exists, but only reading it (code) would tell its value


def _script_may_read(obj, name: str) -> bool:
    """Whether script_getattr would let a script read `obj.name` (if it exists), by the policy alone."""
    if name[:1] == "_":
        return False
    t = type(obj)
    if t is ScriptModule:
        return name in obj.members
    if isinstance(obj, type):
        return _class_grants(obj, name)
    policy = _policy(t)
    if policy.__class__ is dict:
        return name in policy
    if policy is _OPEN:
        return True
    d = getattr(obj, "__dict__", None)
    return (d is not None and name in d) or _class_grants(t, name)


def _static_attribute(obj, name: str):
    """`obj.name` if reading it runs no code (an instance's or class's stored value, a set slot), _UNKNOWN
    if it exists behind a descriptor (property, method), _ABSENT if it does not exist."""
    import inspect

    value = inspect.getattr_static(obj, name, _ABSENT)
    if value is _ABSENT:
        return _ABSENT
    if type(value) is types.MemberDescriptorType and not isinstance(obj, type):  # a slot: plain storage
        try:
            return value.__get__(obj, type(obj))
        except AttributeError:
            return _ABSENT
    if hasattr(type(value), "__get__"):
        return _UNKNOWN
    return value


def script_attribute_names(obj) -> list[str]:
    """The attributes a script may read from `obj`, sorted, found without reading any of them: the
    candidates come from the declared allow-lists (SCRIPT_ATTRS, the builtin types' tables, a module's
    members) and the names stored in the object's and its classes' dicts; never '_' names."""
    if type(obj) is ScriptModule:
        return sorted(n for n in obj.members if n[:1] != "_")
    names: set[str] = set()
    for cls in obj.__mro__ if isinstance(obj, type) else type(obj).__mro__:
        names.update(_allowed_names(cls))
        names.update(k for k in cls.__dict__ if isinstance(k, str))
    d = getattr(obj, "__dict__", None) if not isinstance(obj, type) else None
    if isinstance(d, dict):
        names.update(k for k in d if isinstance(k, str))
    return sorted(n for n in names if _script_may_read(obj, n) and _static_attribute(obj, n) is not _ABSENT)


def script_peek(obj, name: str):
    """`obj.name` as script_getattr gives it, when reading it runs no code (a module member, a stored
    value, a slot); else raises LookupError (not allowed, absent, or behind a property or method)."""
    if not _script_may_read(obj, name):
        raise LookupError(name)
    if type(obj) is ScriptModule:
        return obj.members[name]
    value = _static_attribute(obj, name)
    if value is _ABSENT or value is _UNKNOWN:
        raise LookupError(name)
    return value


# ----------------------------------------------------------------- limits on values
_sequence_limit = limits_module.sequence_limit_error


def _int_limit(bits: float, limit: int) -> LimitError:
    return LimitError(
        f"an integer of about {int(bits):,} bits is over the limit of {limit:,} bits (--max-int-bits)"
    )


_SEQUENCES = (str, list, tuple)


def _as_count(x):
    """x as a repeat count if Python would take it as one (int or __index__), else None."""
    if isinstance(x, int):
        return x
    if hasattr(type(x), "__index__"):
        return operator.index(x)
    return None


def _check_mul(a, b, lim: Limits) -> None:
    if isinstance(a, _SEQUENCES):
        n = _as_count(b)
        if n is not None and len(a) * n > lim.max_sequence:
            raise _sequence_limit(len(a) * n)
    elif isinstance(b, _SEQUENCES):
        n = _as_count(a)
        if n is not None and len(b) * n > lim.max_sequence:
            raise _sequence_limit(len(b) * n)
    elif isinstance(a, int) and isinstance(b, int):
        bits = a.bit_length() + b.bit_length()
        if bits > lim.max_int_bits:
            raise _int_limit(bits, lim.max_int_bits)


def _check_add(a, b, lim: Limits) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > lim.max_sequence:
        raise _sequence_limit(len(a) + len(b))


def _check_pow(a, b, lim: Limits) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        bits = b * math.log2(abs(a))
        if bits > lim.max_int_bits:
            raise _int_limit(bits, lim.max_int_bits)


def _check_lshift(a, b, lim: Limits) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        bits = a.bit_length() + b
        if bits > lim.max_int_bits:
            raise _int_limit(bits, lim.max_int_bits)


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_SPEC_NUMBER = re.compile(r"\d+")


def _check_width_digits(numbers, lim: Limits) -> None:
    for digits in numbers:
        if digits and digits != "*" and (len(digits) > 12 or int(digits) > lim.max_sequence):
            raise LimitError(
                f"a format field {int(digits):,} characters wide is over the limit of {lim.max_sequence:,} "
                "(--max-sequence)"
            )


def _check_spec(spec: str, lim: Limits) -> None:
    if spec:
        _check_width_digits(_SPEC_NUMBER.findall(spec), lim)


_PERCENT_VALUES: tuple = (int, float, str, type(None), list, tuple, dict)


def _check_percent(fmt: str, args, lim: Limits, allowed: tuple = _PERCENT_VALUES) -> None:
    """`fmt % args`: only plain values and tensors, and no field wide enough to be a memory bomb."""
    fields = _PERCENT_FIELD.findall(fmt)
    for width, precision in fields:
        _check_width_digits((width, precision), lim)
    values = args if isinstance(args, tuple) else args.values() if isinstance(args, dict) else (args,)
    star = any("*" in (w, p) for w, p in fields)
    size = len(fmt) + sum(len(v) for v in values if isinstance(v, str))
    if size > lim.max_sequence:  # ('%s%s' % (s, s) in a loop doubles, as s + s would)
        raise _sequence_limit(size)
    for v in values:
        if not isinstance(v, allowed):
            raise TypeError(
                f"gradscript formats only numbers, strings and tensors with %, not '{type(v).__name__}'"
            )
        if star and isinstance(v, int) and abs(v) > lim.max_sequence:
            raise _sequence_limit(abs(v))


# ----------------------------------------------------------------- long ranges
class _LongRange:
    """A `range` too long to hand to C-level consumers (list(), sum(), sorted(), ...) unguarded: it
    iterates through a counting iterator, so those consumers run under the step and time limits."""

    __slots__ = ("range", "state")

    def __init__(self, r: range, state):
        self.range = r
        self.state = state

    def __iter__(self):
        return _CountingIterator(iter(self.range), self.state)

    def __reversed__(self):
        return _CountingIterator(reversed(self.range), self.state)

    # No __len__: list(), tuple() and sorted() would preallocate from it. The script's len() asks `.range`.

    def __contains__(self, item):
        return item in self.range

    def __getitem__(self, i):
        r = self.range[i]
        return _make_range(r, self.state) if isinstance(r, range) else r

    def __eq__(self, other):
        if isinstance(other, _LongRange):
            other = other.range
        return self.range == other

    def __hash__(self):
        return hash(self.range)

    def __bool__(self):
        return bool(self.range)

    def __repr__(self):
        return repr(self.range)

    start = property(lambda self: self.range.start)
    stop = property(lambda self: self.range.stop)
    step = property(lambda self: self.range.step)

    def index(self, value):
        return self.range.index(value)

    def count(self, value):
        return self.range.count(value)


_BUILTIN_ATTRS[_LongRange] = _BUILTIN_ATTRS[range]


class _CountingIterator:
    __slots__ = ("it", "state")

    def __init__(self, it, state):
        self.it = it
        self.state = state

    def __iter__(self):
        return self

    def __next__(self):
        st = self.state
        st.ticks -= 1
        if st.ticks < 0:
            st.tick()
        return next(self.it)


_EAGER_RANGE = 1_000_000


def _make_range(r: range, state):
    try:
        n = len(r)
    except OverflowError:
        n = _EAGER_RANGE + 1
    return r if n <= _EAGER_RANGE else _LongRange(r, state)


def _as_builtin(fn, name: str):
    """Name a guarding replacement as Python names the builtin (argument errors say `print()`)."""
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = "builtins"
    return fn


def _script_len(obj, /):
    """len(), which also knows the length of a long range."""
    if type(obj) is _LongRange:
        return len(obj.range)
    return len(obj)


_as_builtin(_script_len, "len")
_as_builtin(script_hasattr, "hasattr")


class _RangeType:
    """`range` as a script sees it: builds ranges, and still works with isinstance()."""

    def __init__(self, state):
        self.state = state

    def __call__(self, *args):
        return _make_range(range(*args), self.state)

    def __instancecheck__(self, obj):
        return isinstance(obj, (range, _LongRange))

    def __repr__(self):
        return "<class 'range'>"


class ScriptType:
    """What type() gives a script for a class it has no other way to reach (a grad_fn's class, function,
    module, NoneType, ...): a name that prints as Python or PyTorch prints the class, one object per class
    (so `type(a) is type(b)` holds), usable with isinstance(), and nothing to call or look into."""

    __slots__ = ("qualname", "cls")
    SCRIPT_ATTRS = frozenset()

    def __init__(self, qualname: str, cls: type):
        self.qualname = qualname
        self.cls = cls

    def __repr__(self):
        return f"<class '{self.qualname}'>"

    def __instancecheck__(self, obj):
        return type(obj) is self.cls


_SCRIPT_TYPES: dict[type, object] = {}


def _script_type_of(t: type, obj):
    """The class type(obj) shows a script, for a class no builtin stands in for (_ScriptTypeFunction): the
    class itself where the script reaches it anyway (torch.Tensor, float, a class it defined, an exception),
    or a ScriptType."""
    from .engine import Node  # noqa: PLC0415
    from .function import FunctionNode  # noqa: PLC0415
    from .torchlib import ScriptModule  # noqa: PLC0415

    if t in (int, float, bool, str, list, tuple) or t in _EXCEPTION_CLASSES or _is_script_class(t) or (
            getattr(t, "TORCH_NAME", None) and t.__module__.startswith("gradcli.")):
        return t
    if issubclass(t, FunctionNode):
        name = "torch.autograd.function." + t.__name__
    elif issubclass(t, Node):
        name = t.__name__
    elif t is ScriptModule:
        name = "module"
    elif t is types.FunctionType:  # the script's own, or one of gradcli's (PyTorch's are built in)
        name = "function" if obj.__module__ == "__main__" else "builtin_function_or_method"
    elif t is types.MethodType:
        name = "method" if _is_script_class(type(obj.__self__)) else "builtin_function_or_method"
    elif issubclass(t, type):  # the class of a class
        name = "type"
    else:
        name = t.__name__
    return ScriptType(name, t)


class _ScriptTypeFunction:
    """type(obj), for scripts; the three-argument form (making a class) is left to the class statement."""

    def __init__(self, builtins: dict):
        # a class the script calls by a builtin's name is shown as that builtin (its guarded int, dict, range)
        self.stand_ins = {}
        for value in builtins.values():
            if isinstance(value, _GuardedType):
                self.stand_ins[value._real] = value
            elif isinstance(value, _RangeType):
                self.stand_ins[range] = self.stand_ins[_LongRange] = value

    def __repr__(self):
        return "<class 'type'>"

    def __call__(self, *args):
        if len(args) != 1:
            if len(args) == 3:
                raise TypeError("type() with three arguments is not available in gradscript: define the "
                                "class with a class statement")
            raise TypeError("type() takes 1 or 3 arguments")
        t = type(args[0])
        return self.stand_ins.get(t) or _script_type(args[0], t)


def _script_type(obj, t):
    """_script_type_of, kept per class where the answer does not depend on the object."""
    shown = _SCRIPT_TYPES.get(t)
    if shown is None:
        shown = _script_type_of(t, obj)
        if t is not types.FunctionType and t is not types.MethodType:  # (those depend on the object)
            _SCRIPT_TYPES[t] = shown
    return shown


# ----------------------------------------------------------------- builtins
_EXCEPTION_CLASSES = (
    Exception, ArithmeticError, AssertionError, AttributeError, FloatingPointError, ImportError, IndexError,
    KeyError, LookupError, ModuleNotFoundError, NameError, NotImplementedError, OverflowError, RecursionError,
    RuntimeError, StopIteration, TypeError, UnboundLocalError, ValueError, ZeroDivisionError,
)
_EXCEPTIONS = {cls.__name__: cls for cls in _EXCEPTION_CLASSES}


def _make_builtins(interp: Interpreter) -> dict:
    """The builtins a script may use: nothing that reaches files, code objects, frames or namespaces."""
    out = interp.out
    lim = interp.limits

    def print(*args, sep=" ", end="\n", file=None, flush=False):  # noqa: A001 - the script's print
        if file is not None:
            raise TypeError("gradscript's print() writes only to standard output (no file=)")
        if sep is None:
            sep = " "
        elif not isinstance(sep, str):
            raise TypeError(f"sep must be None or a string, not {type(sep).__name__}")
        if end is None:
            end = "\n"
        elif not isinstance(end, str):
            raise TypeError(f"end must be None or a string, not {type(end).__name__}")
        parts = []
        try:
            for a in args:
                parts.append(str(a))
        finally:  # like Python, what was printed before a failing str() stays printed
            text = sep.join(parts)
            try:
                out.write(text + end if len(parts) == len(args) else text + (sep if parts else ""))
                out.flush()
            except OSError as exc:  # a closed pipe is not the script's error, and no `except` may catch it
                raise OutputClosed(str(exc)) from exc

    def pow(base, exp, mod=None):  # noqa: A001
        if mod is None:
            _check_pow(base, exp, lim)
            return base**exp
        from .tensor import Tensor  # noqa: PLC0415

        if any(type(v) is Tensor for v in (base, exp, mod)):
            # (a tensor's __pow__ takes no modulus: Python's own words when an operand gives up)
            names = ", ".join(f"'{type(v).__name__}'" for v in (base, exp, mod))
            raise TypeError(f"unsupported operand type(s) for ** or pow(): {names}")
        return _py.pow(base, exp, mod)

    def format(value, format_spec="", /):  # noqa: A001
        if not isinstance(format_spec, str):
            raise TypeError(f"format() argument 2 must be str, not {type(format_spec).__name__}")
        _check_spec(format_spec, lim)  # (no width or precision large enough to be a memory bomb)
        return _py.format(value, format_spec)

    def sum(iterable, /, start=0):  # noqa: A001
        if isinstance(start, (list, tuple)):
            items = list(iterable)
            size = len(start)
            for item in items:
                if isinstance(item, (list, tuple)):
                    size += len(item)
            if size > lim.max_sequence:
                raise _sequence_limit(size)
            return _py.sum(items, start)
        return _py.sum(iterable, start)

    table = {
        "print": print,
        "range": _RangeType(interp._state),
        "len": _script_len,
        "float": float,
        "int": _SCRIPT_INT,
        "round": round,
        "abs": abs,
        "min": min,
        "max": max,
        "sum": sum,
        "enumerate": _SCRIPT_CHAINS["enumerate"],
        "zip": _SCRIPT_CHAINS["zip"],
        "list": list,
        "tuple": tuple,
        "dict": _SCRIPT_DICT,
        "isinstance": isinstance,
        "str": str,
        "bool": bool,
        "sorted": sorted,
        "reversed": reversed,
        "any": any,
        "all": all,
        "map": _SCRIPT_CHAINS["map"],
        "filter": _SCRIPT_CHAINS["filter"],
        "repr": repr,
        "divmod": divmod,
        "pow": pow,
        "hasattr": script_hasattr,
        "staticmethod": staticmethod,
        "classmethod": classmethod,
        "__name__": "__main__",
    }
    table["type"] = _ScriptTypeFunction(table)
    table["format"] = format
    for name in ("print", "pow", "sum", "format"):
        _as_builtin(table[name], name)
    table.update(_EXCEPTIONS)
    return table



# ----------------------------------------------------------------- run state
_CHUNK = 1000  # the most steps between two looks at the limits
_CLOCK_EVERY = 0.01  # seconds of work between two looks at the clock, aimed at by sizing the chunks


class _RunState:
    """Counters of one run: steps (counted down in chunks), wall time, script call depth."""

    __slots__ = (
        "ticks", "chunk", "done", "max_steps", "max_seconds", "deadline", "last", "depth", "handling",
    )

    def __init__(self):
        self.reset(DEFAULT)

    def reset(self, lim: Limits) -> None:
        self.done = 0
        self.max_steps = lim.max_steps
        self.chunk = max(0, min(1, lim.max_steps))  # grows to _CHUNK while the steps are quick
        self.ticks = self.chunk
        self.max_seconds = lim.max_seconds
        self.last = time.monotonic()
        self.deadline = self.last + lim.max_seconds if lim.max_seconds else 0.0
        self.depth = 0  # the weights of the script calls running now (see Interpreter._call_unit)
        self.handling = []  # ScriptRuntimeErrors being handled by `except` blocks, innermost last

    def tick(self) -> None:
        """A chunk of steps is used up: check the step and time limits, start the next chunk."""
        self.done += self.chunk
        if self.done >= self.max_steps:
            self.ticks = 0  # every further step lands here again
            self.done -= self.chunk
            raise LimitError(f"the program ran more than {self.max_steps:,} steps (--max-steps)")
        now = time.monotonic()
        if self.deadline and now > self.deadline:
            self.ticks = 0
            self.done -= self.chunk
            raise LimitError(f"the program ran longer than {self.max_seconds:g} s (--timeout)")
        # A step can be one tensor op on 10^8 elements: a fixed chunk of 1,000 such steps would look at
        # the clock once a minute. Shrink the chunk when steps are slow, grow it back when they are fast.
        spent = now - self.last
        self.last = now
        size = self.chunk
        if spent > _CLOCK_EVERY:
            size = max(1, int(size * _CLOCK_EVERY / spent))
        elif spent < _CLOCK_EVERY / 4:
            size = min(_CHUNK, 2 * size)
        self.chunk = min(size, self.max_steps - self.done)
        self.ticks = self.chunk - 1


def _recursion_error() -> ScriptRuntimeError:
    return _runtime_error(RecursionError("maximum recursion depth exceeded"))


# ----------------------------------------------------------------- scopes
class _Scope:
    """Compile-time facts about one scope: what it binds, and where names resolve."""

    def __init__(self, kind: str, parent: _Scope | None, bound: set[str], qualname: str = ""):
        self.kind = kind  # "module", "function", "comprehension" or "class"
        self.parent = parent
        self.bound = bound
        self.qualname = qualname  # prefix for qualnames of things defined inside
        self.depth = 0  # current nesting while compiling
        self.max_depth = 0
        self.loops = 0

    def runtime_parent(self) -> _Scope | None:
        """The scope whose env a new inner scope links to: the nearest enclosing non-class scope."""
        s = self
        while s is not None and s.kind == "class":
            s = s.parent
        return s


def _target_names(target: S.Expr, into: set[str]) -> None:
    if isinstance(target, S.Name):
        into.add(target.id)
    elif isinstance(target, (S.Tuple, S.List)):
        for e in target.elts:
            _target_names(e, into)
    elif isinstance(target, S.Starred):
        _target_names(target.value, into)


def _bound_names(body: list[S.Stmt], into: set[str]) -> set[str]:
    """Names a block binds in its own scope (nested functions, classes and comprehensions excluded)."""
    for stmt in body:
        if isinstance(stmt, S.Assign):
            for t in stmt.targets:
                _target_names(t, into)
        elif isinstance(stmt, S.AugAssign):
            _target_names(stmt.target, into)
        elif isinstance(stmt, S.For):
            _target_names(stmt.target, into)
            _bound_names(stmt.body, into)
            _bound_names(stmt.orelse, into)
        elif isinstance(stmt, (S.FunctionDef, S.ClassDef)):
            into.add(stmt.name)
        elif isinstance(stmt, S.If) or isinstance(stmt, S.While):
            _bound_names(stmt.body, into)
            _bound_names(stmt.orelse, into)
        elif isinstance(stmt, S.With):
            for item in stmt.items:
                if item.optional_vars is not None:
                    _target_names(item.optional_vars, into)
            _bound_names(stmt.body, into)
        elif isinstance(stmt, S.Try):
            _bound_names(stmt.body, into)
            for h in stmt.handlers:
                if h.name:
                    into.add(h.name)
                _bound_names(h.body, into)
            _bound_names(stmt.orelse, into)
            _bound_names(stmt.finalbody, into)
        elif isinstance(stmt, S.Import):
            for alias in stmt.names:
                into.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(stmt, S.ImportFrom):
            for alias in stmt.names:
                if alias.name != "*":
                    into.add(alias.asname or alias.name)
        elif isinstance(stmt, S.Delete):
            for t in stmt.targets:
                _target_names(t, into)
    return into


# Special methods a script class may define; the others (__del__, __getattribute__, __init_subclass__, ...)
# would let script code run at times or in ways the interpreter does not control.
_CLASS_DUNDERS = frozenset(
    """__init__ __call__ __repr__ __str__ __len__ __getitem__ __setitem__ __delitem__ __contains__ __iter__
    __bool__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __neg__ __pos__ __abs__ __invert__
    __add__ __radd__ __iadd__ __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __truediv__ __rtruediv__
    __itruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__
    __float__ __int__ __index__""".split()
)

_BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "@": operator.matmul, "<<": operator.lshift, ">>": operator.rshift,
    "&": operator.and_, "|": operator.or_, "^": operator.xor,
}
_INPLACE = {
    "+": operator.iadd, "-": operator.isub, "*": operator.imul, "/": operator.itruediv,
    "//": operator.ifloordiv, "%": operator.imod, "**": operator.ipow, "@": operator.imatmul,
    "<<": operator.ilshift, ">>": operator.irshift, "&": operator.iand, "|": operator.ior, "^": operator.ixor,
}
_COMPARE = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
    "!=": operator.ne, "is": operator.is_, "is not": operator.is_not,
    "in": lambda a, b: _contains(a, b), "not in": lambda a, b: not _contains(a, b),
}
_HASHING = (dict, set, frozenset, *_DICT_VIEWS)
_SET_OPS = ("&", "|", "^", "-")


def _contains(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, _HASHING):
        _check_key(a)
    return a in b


def _view_operands(a, b):
    """`a op b` for op in & | ^ -, where a dict view combines with any iterable into a set (hashing it)."""
    if isinstance(a, _DICT_VIEWS) and not isinstance(b, _HASHING) and hasattr(b, "__iter__"):
        return a, _check_keys(b)
    if isinstance(b, _DICT_VIEWS) and not isinstance(a, _HASHING) and hasattr(a, "__iter__"):
        return _check_keys(a), b
    return a, b


_UNARY = {"-": operator.neg, "+": operator.pos, "~": operator.invert, "not": operator.not_}
_CONVERSIONS = {"r": repr, "s": str, "a": ascii}


_UNBOUND_LOCAL = "cannot access local variable '{}' where it is not associated with a value"
_UNBOUND_FREE = "cannot access free variable '{}' where it is not associated with a value in enclosing scope"
_MULTIPLE_KEYWORD = "got multiple values for keyword argument '{}'"


def _function_str(func) -> str:
    """How CPython names a callee in argument errors: `print()`, `__main__.f()`."""
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        return str(func)
    module = getattr(func, "__module__", None)
    if isinstance(module, str) and module != "builtins":
        return f"{module}.{qualname}()"
    return f"{qualname}()"


def _unpack_error(exc: Exception, value) -> Exception:
    if isinstance(exc, TypeError) and not hasattr(value, "__iter__") and not hasattr(value, "__getitem__"):
        return TypeError(f"cannot unpack non-iterable {type(value).__name__} object")
    return exc


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _name_list(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


class _Signature:
    """A script function's parameters, and Python's rules (and messages) for binding arguments to them."""

    def __init__(self, qualname: str, params: list[S.Param]):
        self.qualname = qualname
        self.positional: list[str] = []
        self.kwonly: list[str] = []
        self.vararg = None
        self.kwarg = None
        for p in params:
            if p.kind == "vararg":
                self.vararg = p.name
            elif p.kind == "kwarg":
                self.kwarg = p.name
            elif self.vararg is None and not self.kwonly and p.name != "*":
                self.positional.append(p.name)
            elif p.name != "*":
                self.kwonly.append(p.name)
        self.simple = self.vararg is None and self.kwarg is None and not self.kwonly
        self.names = set(self.positional) | set(self.kwonly)

    def bind(self, args: tuple, kwargs: dict, defaults: tuple, kwdefaults: dict) -> dict:
        q = self.qualname
        positional = self.positional
        npos = len(positional)
        local = dict(zip(positional, args))
        if self.vararg is not None:
            local[self.vararg] = args[npos:]
        extra = None
        if kwargs:
            if self.kwarg is not None:
                extra = {}
            for k, v in kwargs.items():
                if k in self.names:
                    if k in local:
                        raise TypeError(f"{q}() got multiple values for argument '{k}'")
                    local[k] = v
                elif extra is not None:
                    extra[k] = v
                else:
                    raise TypeError(f"{q}() got an unexpected keyword argument '{k}'")
        if self.kwarg is not None:
            local[self.kwarg] = extra or {}
        if len(args) > npos and self.vararg is None:
            given_kw = sum(1 for k in self.kwonly if k in kwargs)
            if defaults:
                takes = f"from {npos - len(defaults)} to {npos} positional arguments"
            else:
                takes = _plural(npos, "positional argument")
            given = f"{len(args)} positional argument{'s' if len(args) != 1 else ''}"
            if given_kw:
                given += f" (and {_plural(given_kw, 'keyword-only argument')})"
                was = "were"
            else:
                given = str(len(args))
                was = "was" if len(args) == 1 else "were"
            raise TypeError(f"{q}() takes {takes} but {given} {was} given")
        if len(local) < len(self.names) + (self.vararg is not None) + (self.kwarg is not None):
            first_default = npos - len(defaults)
            missing = []
            for i, name in enumerate(positional):
                if name not in local:
                    if i >= first_default:
                        local[name] = defaults[i - first_default]
                    else:
                        missing.append(name)
            if missing:
                plural = "s" if len(missing) > 1 else ""
                names = _name_list(missing)
                raise TypeError(f"{q}() missing {len(missing)} required positional argument{plural}: {names}")
            for name in self.kwonly:
                if name not in local:
                    if name in kwdefaults:
                        local[name] = kwdefaults[name]
                    else:
                        missing.append(name)
            if missing:
                raise TypeError(
                    f"{q}() missing {len(missing)} required keyword-only argument"
                    f"{'s' if len(missing) > 1 else ''}: {_name_list(missing)}"
                )
        return local


# ----------------------------------------------------------------- the compiler
class _Compiler:
    """Lowers one parsed program into closures bound to one interpreter."""

    def __init__(self, interp: Interpreter, source: str):
        self.interp = interp
        self.lines = source.splitlines()
        self.filename = interp.filename
        self.limits = interp.limits
        self.state = interp._state
        self.globals = interp.globals
        self.builtins = interp.builtins
        self.scope: _Scope = None  # type: ignore[assignment]
        self.fast_types = interp._fast_types
        from .dtypes import DType  # noqa: PLC0415 - (the lowering's own imports stay light)
        from .tensor import Device  # noqa: PLC0415

        # ('%s' % (x.dtype,) prints torch.float32, as Python does)
        self.percent_types = (_PERCENT_VALUES + tuple(t for t in interp._fast_types if t is not float)
                              + (DType, Device))
        # The REPL's echo, as Python's 'single' mode does it: set only for an interactive input, and
        # consulted while lowering, so a program run otherwise compiles exactly as before.
        self.display = None

    # -------------------------------------------------------------- helpers
    def where(self, node: S.Node) -> _Where:
        line = node.line or 1
        source_line = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        if node.end_line == node.line:
            end = node.end_column
        else:  # a node over several lines: mark the rest of its first line
            end = len(source_line) + 1 if source_line else None
        return _Where(node.line or None, node.column or None, end, source_line, self.filename)

    def refuse(self, node: S.Node, message: str) -> ScriptSyntaxError:
        w = self.where(node)
        return ScriptSyntaxError(
            message, line=w.line, column=w.column, end_column=w.end_column, source_line=w.source_line,
            filename=self.filename,
        )

    def module(self, module: S.Module, *, interactive: bool = False, display=None):
        self.scope = _Scope("module", None, _bound_names(module.body, set()))
        self.display = display
        body = module.body
        last = None
        if interactive and display is None and body and isinstance(body[-1], S.ExprStmt):
            last = self.expr(body[-1].value)
            body = body[:-1]
        block = self.block(body)
        return block, last

    # -------------------------------------------------------------- expressions
    def expr(self, node: S.Expr):
        scope = self.scope
        scope.depth += 1
        if scope.depth > scope.max_depth:
            scope.max_depth = scope.depth
        try:
            method = getattr(self, "expr_" + type(node).__name__, None)
            if method is None:
                raise self.refuse(node, f"gradscript does not support {type(node).__name__} here")
            return method(node)
        finally:
            scope.depth -= 1

    def expr_Constant(self, node: S.Constant):
        value = node.value
        if isinstance(value, int) and value.bit_length() > self.limits.max_int_bits:
            raise _error_at(_int_limit(value.bit_length(), self.limits.max_int_bits), self.where(node))
        return lambda env: value

    def expr_Name(self, node: S.Name):
        name = node.id
        where = self.where(node)
        scope = self.scope
        g = self.globals
        builtins = self.builtins

        def load_global(env):
            try:
                return g[name]
            except KeyError:
                pass
            raise _error_at(NameError(f"name '{name}' is not defined"), where)

        if name in builtins:
            builtin = builtins[name]

            def load_global(env):  # noqa: F811 - the builtin is the fallback
                return g.get(name, builtin)

        def outer_loader(scope: _Scope, hops: int):
            """Resolve `name` from `scope`'s enclosing scopes; hops = env links to reach scope's parent."""
            s = scope.parent
            while s is not None and s.kind != "module":
                if s.kind != "class":
                    if name in s.bound:
                        return self._free_loader(name, hops, where)
                    hops += 1
                s = s.parent
            return load_global

        if scope.kind == "module":
            return load_global
        if scope.kind == "class":
            outer = outer_loader(scope, 1)
            if name not in scope.bound:
                return outer

            def load_class(env):
                try:
                    return env[name]
                except KeyError:
                    pass
                return load_global(env)

            return load_class
        if name in scope.bound:

            def load_local(env):
                try:
                    return env[name]
                except KeyError:
                    pass
                raise _error_at(UnboundLocalError(_UNBOUND_LOCAL.format(name)), where)

            return load_local
        return outer_loader(scope, 1)

    @staticmethod
    def _free_loader(name: str, hops: int, where: _Where):
        def unbound():
            return _error_at(NameError(_UNBOUND_FREE.format(name)), where)

        if hops == 1:

            def load_free1(env):
                try:
                    return env[0][name]
                except KeyError:
                    pass
                raise unbound()

            return load_free1

        def load_free(env):
            for _ in range(hops):
                env = env[0]
            try:
                return env[name]
            except KeyError:
                pass
            raise unbound()

        return load_free

    def expr_Attribute(self, node: S.Attribute):
        name = node.attr
        if name.startswith("_"):
            raise self.refuse(node, str(_private(name)))
        obj = self.expr(node.value)
        where = self.where(node)

        def attribute(env):
            o = obj(env)
            if type(o) is ScriptModule:
                try:
                    return o.members[name]
                except KeyError:
                    pass
            try:
                return script_getattr(o, name)
            except Exception as e:
                _raise_at(e, where)

        return attribute

    def expr_Subscript(self, node: S.Subscript):
        obj = self.expr(node.value)
        where = self.where(node)
        if isinstance(node.index, S.Constant):
            key = node.index.value

            def subscript_const(env):
                o = obj(env)
                try:
                    return o[key]
                except Exception as e:
                    _raise_at(e, where)

            return subscript_const
        index = self.expr(node.index)

        def subscript(env):
            o = obj(env)
            k = index(env)
            try:
                if type(k) is tuple and type(o) is dict:
                    _check_key(k)
                return o[k]
            except Exception as e:
                _raise_at(e, where)

        return subscript

    def expr_Slice(self, node: S.Slice):
        none = lambda env: None
        lower = self.expr(node.lower) if node.lower is not None else none
        upper = self.expr(node.upper) if node.upper is not None else none
        step = self.expr(node.step) if node.step is not None else none
        return lambda env: slice(lower(env), upper(env), step(env))

    def expr_Starred(self, node: S.Starred):
        raise self.refuse(node, "can't use starred expression here")

    def _elements(self, elts: list[S.Expr], *, call: bool = False):
        """A closure building the list of values of a display, expanding `*xs`. For a call's arguments
        (`call`), the closure takes the callee too, which Python names in its error messages."""
        if call and not any(isinstance(e, S.Starred) for e in elts):
            values = self._elements(elts)
            return lambda env, func: values(env)
        if not any(isinstance(e, S.Starred) for e in elts):
            items = [self.expr(e) for e in elts]
            if len(items) == 1:
                (a,) = items
                return lambda env: [a(env)]
            if len(items) == 2:
                a, b = items
                return lambda env: [a(env), b(env)]
            return lambda env: [f(env) for f in items]
        parts = []
        for e in elts:
            if isinstance(e, S.Starred):
                parts.append((True, self.expr(e.value), self.where(e)))
            else:
                parts.append((False, self.expr(e), None))

        lim = self.limits

        def elements(env, func=_MISSING):
            out = []
            for starred, f, where in parts:
                if starred:
                    v = f(env)
                    try:
                        if isinstance(v, _SEQUENCES) and len(out) + len(v) > lim.max_sequence:
                            raise _sequence_limit(len(out) + len(v))  # ([*xs, *xs] in a loop doubles)
                        out.extend(v)
                    except Exception as e:
                        if isinstance(e, TypeError) and not hasattr(v, "__iter__"):
                            owner = "Value" if func is _MISSING else f"{_function_str(func)} argument"
                            e = TypeError(f"{owner} after * must be an iterable, not {type(v).__name__}")
                        _raise_at(e, where)
                else:
                    out.append(f(env))
            return out

        if call:
            return elements
        return lambda env: elements(env)

    def expr_List(self, node: S.List):
        if not node.elts:
            return lambda env: []
        return self._elements(node.elts)

    def expr_Tuple(self, node: S.Tuple):
        if not node.elts:
            return lambda env: ()
        if len(node.elts) == 2 and not any(isinstance(e, S.Starred) for e in node.elts):
            a, b = (self.expr(e) for e in node.elts)
            return lambda env: (a(env), b(env))
        elements = self._elements(node.elts)
        return lambda env: tuple(elements(env))

    def expr_Dict(self, node: S.Dict):
        parts = []
        for k, v in zip(node.keys, node.values):
            parts.append((self.expr(k) if k is not None else None, self.expr(v), self.where(v)))

        def dictionary(env):
            d = {}
            for k, v, where in parts:
                if k is None:
                    m = v(env)
                    try:
                        if isinstance(m, dict):
                            d.update(m)  # its keys are hashed already: no new hashing
                        else:
                            keys = _check_keys(m.keys())
                            d.update([(key, m[key]) for key in keys])
                    except Exception as e:
                        if isinstance(e, (TypeError, AttributeError)) and not isinstance(m, dict):
                            e = TypeError(f"'{type(m).__name__}' object is not a mapping")
                        _raise_at(e, where)
                else:
                    key = k(env)
                    if type(key) is tuple:
                        try:
                            _check_key(key)
                        except Exception as e:
                            _raise_at(e, where)
                    try:
                        d[key] = v(env)
                    except ScriptError:
                        raise
                    except Exception as e:
                        _raise_at(e, where)
            return d

        return dictionary

    def expr_BinOp(self, node: S.BinOp):
        op = node.op
        left = self.expr(node.left)
        right = self.expr(node.right)
        where = self.where(node)
        fn = _BINARY.get(op)
        if fn is None:
            raise self.refuse(node, f"unknown operator {op!r}")
        lim = self.limits
        check = {"*": _check_mul, "+": _check_add, "**": _check_pow, "<<": _check_lshift}.get(op)
        # A float constant on either side rules out int and sequence blow-ups.
        for side in (node.left, node.right):
            if isinstance(side, S.Constant) and type(side.value) is float:
                check = None
        if op == "+" and any(isinstance(s, S.Constant) and type(s.value) in (int, float) for s in
                             (node.left, node.right)):
            check = None
        if op == "%":
            percent_types = self.percent_types

            def modulo(env):
                a = left(env)
                b = right(env)
                try:
                    if isinstance(a, str):
                        _check_percent(a, b, lim, percent_types)
                    return a % b
                except Exception as e:
                    _raise_at(e, where)

            return modulo
        if op in _SET_OPS and not any(isinstance(s, S.Constant) for s in (node.left, node.right)):
            plain_types = self.fast_types | {int, bool}

            def set_binop(env):
                a = left(env)
                b = right(env)
                try:
                    if type(a) not in plain_types or type(b) not in plain_types:
                        a, b = _view_operands(a, b)
                    return fn(a, b)
                except Exception as e:
                    _raise_at(e, where)

            return set_binop
        if check is None:

            def binop(env):
                a = left(env)
                b = right(env)
                try:
                    return fn(a, b)
                except Exception as e:
                    _raise_at(e, where)

            return binop
        fast = self.fast_types
        if op == "+":
            # Only a sequence on the left can concatenate: numbers and tensors skip the check.
            add_fast = fast | {int, bool}

            def checked_add(env):
                a = left(env)
                b = right(env)
                try:
                    if type(a) not in add_fast:
                        check(a, b, lim)
                    return a + b
                except Exception as e:
                    _raise_at(e, where)

            return checked_add

        def checked_binop(env):
            a = left(env)
            b = right(env)
            try:
                if type(a) not in fast or type(b) not in fast:
                    check(a, b, lim)
                return fn(a, b)
            except Exception as e:
                _raise_at(e, where)

        return checked_binop

    def expr_UnaryOp(self, node: S.UnaryOp):
        operand = self.expr(node.operand)
        where = self.where(node)
        if node.op == "not":

            def not_(env):
                v = operand(env)
                try:
                    return not v
                except Exception as e:
                    _raise_at(e, where)

            return not_
        fn = _UNARY[node.op]

        def unary(env):
            v = operand(env)
            try:
                return fn(v)
            except Exception as e:
                _raise_at(e, where)

        return unary

    def expr_BoolOp(self, node: S.BoolOp):
        values = [(self.expr(v), self.where(v)) for v in node.values]
        last = values[-1][0]
        head = values[:-1]
        if node.op == "and":

            def and_(env):
                for f, where in head:
                    v = f(env)
                    try:
                        if not v:
                            return v
                    except Exception as e:
                        _raise_at(e, where)
                return last(env)

            return and_

        def or_(env):
            for f, where in head:
                v = f(env)
                try:
                    if v:
                        return v
                except Exception as e:
                    _raise_at(e, where)
            return last(env)

        return or_

    def expr_Compare(self, node: S.Compare):
        left = self.expr(node.left)
        where = self.where(node)
        if len(node.ops) == 1:
            fn = _COMPARE[node.ops[0]]
            right = self.expr(node.comparators[0])

            def compare(env):
                a = left(env)
                b = right(env)
                try:
                    return fn(a, b)
                except Exception as e:
                    _raise_at(e, where)

            return compare
        chain = [(_COMPARE[op], self.expr(c)) for op, c in zip(node.ops, node.comparators)]
        last_index = len(chain) - 1

        def compare_chain(env):
            a = left(env)
            result = True
            for i, (fn, f) in enumerate(chain):
                b = f(env)
                try:
                    result = fn(a, b)
                    if i < last_index and not result:
                        return result
                except Exception as e:
                    _raise_at(e, where)
                a = b
            return result

        return compare_chain

    def expr_IfExp(self, node: S.IfExp):
        test = self.expr(node.test)
        body = self.expr(node.body)
        orelse = self.expr(node.orelse)
        where = self.where(node.test)

        def ifexp(env):
            t = test(env)
            try:
                t = True if t else False
            except Exception as e:
                _raise_at(e, where)
            return body(env) if t else orelse(env)

        return ifexp

    def expr_JoinedStr(self, node: S.JoinedStr):
        # the pieces are literal strings and FormattedValues, which format to strings themselves
        parts = [self.expr(v) for v in node.values]
        if not parts:
            return lambda env: ""
        if len(parts) == 1:
            return parts[0]
        where = self.where(node)
        lim = self.limits

        def joined(env):
            pieces = [p(env) for p in parts]
            size = sum(map(len, pieces))
            if size > lim.max_sequence:  # (f'{s}{s}' in a loop doubles, as s + s would)
                raise _error_at(_sequence_limit(size), where)
            return "".join(pieces)

        return joined

    def expr_FormattedValue(self, node: S.FormattedValue):
        value = self.expr(node.value)
        conversion = _CONVERSIONS.get(node.conversion) if node.conversion else None
        spec = self.expr(node.format_spec) if node.format_spec is not None else None
        where = self.where(node)
        lim = self.limits

        def formatted(env):
            v = value(env)
            s = spec(env) if spec is not None else ""
            try:
                if conversion is not None:
                    v = conversion(v)
                _check_spec(s, lim)
                return format(v, s)
            except Exception as e:
                _raise_at(e, where)

        return formatted

    # -------------------------------------------------------------- calls
    def _arguments(self, node: S.Call):
        """(positional closure, keyword closure) for a call with stars or keywords."""
        positional = self._elements(node.args, call=True) if node.args else (lambda env, func: [])
        keywords = []
        for kw in node.keywords:
            keywords.append((kw.arg, self.expr(kw.value), self.where(kw)))

        def keyword_args(env, func):
            out = {}
            for name, f, where in keywords:
                v = f(env)
                if name is not None:
                    if name in out:
                        message = f"{_function_str(func)} {_MULTIPLE_KEYWORD.format(name)}"
                        raise _error_at(TypeError(message), where)
                    out[name] = v
                    continue
                try:
                    items = v.items() if isinstance(v, dict) else None
                    if items is None:
                        what = f"{_function_str(func)} argument after **"
                        raise TypeError(f"{what} must be a mapping, not {type(v).__name__}")
                    for k, x in items:
                        if not isinstance(k, str):
                            raise TypeError("keywords must be strings")
                        if k in out:
                            raise TypeError(f"{_function_str(func)} {_MULTIPLE_KEYWORD.format(k)}")
                        out[k] = x
                except Exception as e:
                    _raise_at(e, where)
            return out

        return positional, keyword_args

    def expr_Call(self, node: S.Call):
        where = self.where(node)
        plain = not node.keywords and not any(isinstance(a, S.Starred) for a in node.args)
        if isinstance(node.func, S.Attribute) and plain:
            return self._method_call(node, where)
        func = self.expr(node.func)
        if not plain:
            positional, keyword_args = self._arguments(node)

            def call(env):
                f = func(env)
                args = positional(env, f)
                kwargs = keyword_args(env, f)
                try:
                    return f(*args, **kwargs)
                except Exception as e:
                    _raise_at(e, where)

            return call
        args = [self.expr(a) for a in node.args]
        if not args:

            def call0(env):
                f = func(env)
                try:
                    return f()
                except Exception as e:
                    _raise_at(e, where)

            return call0
        if len(args) == 1:
            (a0,) = args

            def call1(env):
                f = func(env)
                x = a0(env)
                try:
                    return f(x)
                except Exception as e:
                    _raise_at(e, where)

            return call1
        if len(args) == 2:
            a0, a1 = args

            def call2(env):
                f = func(env)
                x = a0(env)
                y = a1(env)
                try:
                    return f(x, y)
                except Exception as e:
                    _raise_at(e, where)

            return call2

        def calln(env):
            f = func(env)
            xs = [a(env) for a in args]
            try:
                return f(*xs)
            except Exception as e:
                _raise_at(e, where)

        return calln

    def _method_call(self, node: S.Call, where: _Where):
        """`obj.name(args)`: one closure for the lookup and the call (the hot path of tensor code)."""
        attr = node.func
        name = attr.attr
        if name.startswith("_"):
            raise self.refuse(attr, str(_private(name)))
        obj = self.expr(attr.value)
        attr_where = self.where(attr)
        args = [self.expr(a) for a in node.args]

        def lookup(o):
            if type(o) is ScriptModule:
                try:
                    return o.members[name]
                except KeyError:
                    pass
            try:
                return script_getattr(o, name)
            except Exception as e:
                _raise_at(e, attr_where)

        if not args:

            def method0(env):
                o = obj(env)
                if type(o) is ScriptModule and name in o.members:
                    m = o.members[name]
                else:
                    m = lookup(o)
                try:
                    return m()
                except Exception as e:
                    _raise_at(e, where)

            return method0
        if len(args) == 1:
            (a0,) = args

            def method1(env):
                o = obj(env)
                if type(o) is ScriptModule and name in o.members:
                    m = o.members[name]
                else:
                    m = lookup(o)
                x = a0(env)
                try:
                    return m(x)
                except Exception as e:
                    _raise_at(e, where)

            return method1
        if len(args) == 2:
            a0, a1 = args

            def method2(env):
                o = obj(env)
                if type(o) is ScriptModule and name in o.members:
                    m = o.members[name]
                else:
                    m = lookup(o)
                x = a0(env)
                y = a1(env)
                try:
                    return m(x, y)
                except Exception as e:
                    _raise_at(e, where)

            return method2

        def methodn(env):
            o = obj(env)
            m = lookup(o)
            xs = [a(env) for a in args]
            try:
                return m(*xs)
            except Exception as e:
                _raise_at(e, where)

        return methodn

    # -------------------------------------------------------------- functions
    def expr_Lambda(self, node: S.Lambda):
        define = self._function(node, "<lambda>", node.params, None, node.body)
        return define

    def _function(self, node: S.Node, name: str, params: list[S.Param], body: list[S.Stmt] | None,
                  body_expr: S.Expr | None):
        """A closure that, run in the defining scope, makes a new script function object."""
        outer = self.scope
        seen_default = False
        seen_names: set[str] = set()
        for p in params:
            if p.name in seen_names:
                raise self.refuse(p, f"duplicate argument '{p.name}' in function definition")
            seen_names.add(p.name)
            if p.kind == "normal" and p.default is None and seen_default and not any(
                q.kind == "vararg" for q in params[: params.index(p)]
            ):
                raise self.refuse(p, "non-default argument follows default argument")
            if p.default is not None:
                seen_default = True
        prefix = outer.qualname
        qualname = f"{prefix}{name}"
        signature = _Signature(qualname, params)
        # defaults are evaluated in the defining scope
        positional_defaults = [
            self.expr(p.default) for p in params if p.default is not None and p.name in signature.positional
        ]
        kw_defaults = [(p.name, self.expr(p.default)) for p in params if p.default is not None
                       and p.name in signature.kwonly]
        bound = {p.name for p in params if p.name != "*"}
        if body is not None:
            _bound_names(body, bound)
        scope = _Scope("function", outer, bound, qualname + ".<locals>.")
        self.scope = scope
        try:
            if body is not None:
                code = self.block(body)
            else:
                value = self.expr(body_expr)

                def code(env):
                    env[1] = value(env)
                    return RETURN
        finally:
            self.scope = outer
        # The Python frames one call may stack up, at most, and its weight against the call capacity.
        cost = 3 * scope.max_depth + 12
        weight = max(cost, self.interp._call_unit)
        capacity = self.interp._call_capacity
        st = self.state
        in_class = outer.kind == "class"
        positional_names = tuple(signature.positional)
        npos = len(positional_names) if signature.simple else -1  # -1: always bind the general way
        p0, p1, p2 = (positional_names + (None, None, None))[:3]
        bind = signature.bind

        def define(env):
            defaults = tuple(d(env) for d in positional_defaults)
            kwdefaults = {n: d(env) for n, d in kw_defaults}
            parent = env[0] if in_class else env

            def script_function(*args, **kwargs):
                # Binding the common shapes with a dict display is several times faster than the rules.
                if kwargs or len(args) != npos:
                    local = bind(args, kwargs, defaults, kwdefaults)
                    local[0] = parent
                elif npos == 1:
                    local = {0: parent, p0: args[0]}
                elif npos == 2:
                    local = {0: parent, p0: args[0], p1: args[1]}
                elif npos == 0:
                    local = {0: parent}
                elif npos == 3:
                    local = {0: parent, p0: args[0], p1: args[1], p2: args[2]}
                else:
                    local = dict(zip(positional_names, args))
                    local[0] = parent
                st.ticks -= 1
                if st.ticks < 0:
                    st.tick()
                st.depth += weight
                try:
                    if st.depth > capacity:
                        raise _recursion_error()
                    signal = code(local)
                finally:
                    st.depth -= weight
                if signal is RETURN:
                    return local[1]
                return None

            script_function.__name__ = name
            script_function.__qualname__ = qualname
            script_function.__module__ = "__main__"
            return script_function

        return define

    # -------------------------------------------------------------- comprehensions
    def expr_DictComp(self, node: S.DictComp):
        """{k: v for ...}: the (key, value) pairs of a list comprehension (the key evaluated first, as in
        Python), then a dict, each tuple key held to the hashing limits."""
        pairs = self.expr_ListComp(S.ListComp(S.Tuple([node.key, node.value]), node.generators),
                                   "<dictcomp>.")
        where = self.where(node)

        def dictcomp(env):
            out = {}
            for key, value in pairs(env):
                try:
                    if type(key) is tuple:
                        _check_key(key)
                    out[key] = value
                except ScriptError:
                    raise
                except Exception as e:
                    _raise_at(e, where)
            return out

        return dictcomp

    def expr_ListComp(self, node: S.ListComp, scope_name="<listcomp>."):
        outer = self.scope
        first_iter = self.expr(node.generators[0].iter)
        bound: set[str] = set()
        for gen in node.generators:
            _target_names(gen.target, bound)
        scope = _Scope("comprehension", outer, bound, outer.qualname + scope_name)
        scope.depth = outer.depth
        scope.max_depth = outer.max_depth
        self.scope = scope
        try:
            elt = self.expr(node.elt)
            levels = []
            for i, gen in enumerate(node.generators):
                iterable = None if i == 0 else self.expr(gen.iter)
                store = self.store(gen.target)
                ifs = [(self.expr(c), self.where(c)) for c in gen.ifs]
                levels.append((iterable, self.where(gen.iter), store, ifs))
        finally:
            self.scope = outer
            outer.max_depth = max(outer.max_depth, scope.max_depth + len(node.generators))
        st = self.state
        in_class = outer.kind == "class"

        def make_level(i):
            iterable_fn, iter_where, store, ifs = levels[i]
            inner = make_level(i + 1) if i + 1 < len(levels) else None

            def level(cenv, iterable, out):
                try:
                    it = iter(iterable.range if type(iterable) is _LongRange else iterable)
                except Exception as e:
                    _raise_at(e, iter_where)
                try:
                    for x in it:
                        st.ticks -= 1
                        if st.ticks < 0:
                            st.tick()
                        store(cenv, x)
                        for test, where in ifs:
                            t = test(cenv)
                            try:
                                if not t:
                                    break
                            except Exception as e:
                                _raise_at(e, where)
                        else:
                            if inner is None:
                                out.append(elt(cenv))
                            else:
                                inner(cenv, levels[i + 1][0](cenv), out)
                except Exception as e:
                    _raise_at(e, iter_where)

            return level

        run = make_level(0)

        def listcomp(env):
            iterable = first_iter(env)
            out = []
            run({0: env[0] if in_class else env}, iterable, out)
            return out

        return listcomp

    # -------------------------------------------------------------- assignment targets
    def store(self, target: S.Expr):
        """A closure `store(env, value)` for an assignment target."""
        if isinstance(target, S.Name):
            name = target.id

            def store_name(env, value):
                env[name] = value

            return store_name
        if isinstance(target, S.Attribute):
            name = target.attr
            if name.startswith("_"):
                raise self.refuse(target, str(_private(name)))
            obj = self.expr(target.value)
            where = self.where(target)

            def store_attr(env, value):
                o = obj(env)
                try:
                    script_setattr(o, name, value)
                except Exception as e:
                    _raise_at(e, where)

            return store_attr
        if isinstance(target, S.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.index)
            where = self.where(target)

            lim = self.limits

            def store_item(env, value):
                o = obj(env)
                k = index(env)
                try:
                    if type(k) is tuple and type(o) is dict:
                        _check_key(k)
                    elif type(k) is slice and type(o) is list and hasattr(value, "__len__"):
                        # (l[len(l):] = l in a loop doubles the list, as l + l would)
                        size = len(o) - len(range(*k.indices(len(o)))) + len(value)
                        if size > lim.max_sequence:
                            raise _sequence_limit(size)
                    o[k] = value
                except Exception as e:
                    _raise_at(e, where)

            return store_item
        if isinstance(target, (S.Tuple, S.List)):
            return self._store_unpack(target)
        if isinstance(target, S.Starred):
            raise self.refuse(target, "starred assignment target must be in a list or tuple")
        raise self.refuse(target, f"cannot assign to {type(target).__name__.lower()}")

    def _store_unpack(self, target):
        stars = [i for i, e in enumerate(target.elts) if isinstance(e, S.Starred)]
        if len(stars) > 1:
            raise self.refuse(target, "multiple starred expressions in assignment")
        stores = [self.store(e.value if isinstance(e, S.Starred) else e) for e in target.elts]
        where = self.where(target)
        n = len(stores)
        if not stars:

            def unpack(env, value):
                try:
                    if type(value) is tuple or type(value) is list:
                        items = value
                    else:
                        items = list(islice(iter(value), n + 1))
                    if len(items) != n:
                        if len(items) > n:
                            raise ValueError(f"too many values to unpack (expected {n})")
                        raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
                except Exception as e:
                    _raise_at(_unpack_error(e, value), where)
                for store, item in zip(stores, items):
                    store(env, item)

            return unpack
        star = stars[0]
        after = n - star - 1

        def unpack_star(env, value):
            try:
                items = list(value)
            except Exception as e:
                _raise_at(_unpack_error(e, value), where)
            if len(items) < n - 1:
                message = f"not enough values to unpack (expected at least {n - 1}, got {len(items)})"
                raise _error_at(ValueError(message), where)
            values = items[:star] + [items[star:len(items) - after]] + items[len(items) - after:]
            for store, item in zip(stores, values):
                store(env, item)

        return unpack_star

    # -------------------------------------------------------------- statements
    def block(self, stmts: list[S.Stmt]):
        fns = [self.stmt(s) for s in stmts]
        if not fns:
            return lambda env: None
        if len(fns) == 1:
            return fns[0]
        if len(fns) == 2:
            first, second = fns

            def block2(env):
                signal = first(env)
                if signal is not None:
                    return signal
                return second(env)

            return block2
        fns = tuple(fns)

        def block(env):
            for f in fns:
                signal = f(env)
                if signal is not None:
                    return signal
            return None

        return block

    def stmt(self, node: S.Stmt):
        scope = self.scope
        scope.depth += 2  # a statement costs its block's frame too
        if scope.depth > scope.max_depth:
            scope.max_depth = scope.depth
        try:
            method = getattr(self, "stmt_" + type(node).__name__, None)
            if method is None:
                raise self.refuse(node, f"gradscript does not support {type(node).__name__} statements")
            return method(node)
        finally:
            scope.depth -= 2

    def stmt_ExprStmt(self, node: S.ExprStmt):
        value = self.expr(node.value)
        display = self.display
        if display is not None and self.scope.kind == "module":
            # Python's REPL compiles an input in 'single' mode: an expression statement at the top level,
            # or in a loop, if, with or try there, shows its value; one in a function or class body not.
            return self._displaying_statement(value, display, self.where(node))

        def expression_statement(env):
            value(env)

        return expression_statement

    @staticmethod
    def _displaying_statement(value, display, where: _Where):
        def display_statement(env):
            v = value(env)
            if v is not None:
                try:  # a failing repr is the statement's error, as print's is the call's
                    display(v)
                except OSError as exc:  # a closed pipe is not the script's error (see print)
                    raise OutputClosed(str(exc)) from exc
                except Exception as e:
                    _raise_at(e, where)

        return display_statement

    def stmt_Pass(self, node):
        return lambda env: None

    def stmt_Break(self, node):
        if not self.scope.loops:
            raise self.refuse(node, "'break' outside loop")
        return lambda env: BREAK

    def stmt_Continue(self, node):
        if not self.scope.loops:
            raise self.refuse(node, "'continue' not properly in loop")
        return lambda env: CONTINUE

    def stmt_Return(self, node: S.Return):
        if self.scope.kind != "function":
            raise self.refuse(node, "'return' outside function")
        if node.value is None:

            def return_none(env):
                env[1] = None
                return RETURN

            return return_none
        value = self.expr(node.value)

        def return_(env):
            env[1] = value(env)
            return RETURN

        return return_

    def stmt_Assign(self, node: S.Assign):
        value = self.expr(node.value)
        if len(node.targets) == 1 and isinstance(node.targets[0], S.Name):
            name = node.targets[0].id

            def assign_name(env):
                env[name] = value(env)

            return assign_name
        stores = [self.store(t) for t in node.targets]
        if len(stores) == 1:
            (store,) = stores

            def assign(env):
                store(env, value(env))

            return assign

        def assign_many(env):
            v = value(env)
            for store in stores:
                store(env, v)

        return assign_many

    def stmt_AugAssign(self, node: S.AugAssign):
        fn = _INPLACE.get(node.op)
        if fn is None:
            raise self.refuse(node, f"unknown operator {node.op!r}=")
        check = {"*": _check_mul, "+": _check_add, "**": _check_pow, "<<": _check_lshift}.get(node.op)
        lim = self.limits
        value = self.expr(node.value)
        where = self.where(node)
        is_modulo = node.op == "%"
        percent_types = self.percent_types

        set_op = node.op in _SET_OPS

        def combine(a, b):
            try:
                if set_op:
                    a, b = _view_operands(a, b)
                if check is not None:
                    check(a, b, lim)
                if is_modulo and isinstance(a, str):
                    _check_percent(a, b, lim, percent_types)
                return fn(a, b)
            except Exception as e:
                _raise_at(e, where)

        target = node.target
        if isinstance(target, S.Name):
            load = self.expr(target)
            name = target.id

            def augassign_name(env):
                env[name] = combine(load(env), value(env))

            return augassign_name
        if isinstance(target, S.Attribute):
            name = target.attr
            if name.startswith("_"):
                raise self.refuse(target, str(_private(name)))
            obj = self.expr(target.value)
            attr_where = self.where(target)

            def augassign_attr(env):
                o = obj(env)
                try:
                    current = script_getattr(o, name)
                except Exception as e:
                    _raise_at(e, attr_where)
                result = combine(current, value(env))
                try:
                    script_setattr(o, name, result)
                except Exception as e:
                    _raise_at(e, attr_where)

            return augassign_attr
        if isinstance(target, S.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.index)
            item_where = self.where(target)

            def augassign_item(env):
                o = obj(env)
                k = index(env)
                try:
                    if type(k) is tuple and type(o) is dict:
                        _check_key(k)
                    current = o[k]
                except Exception as e:
                    _raise_at(e, item_where)
                result = combine(current, value(env))
                try:
                    o[k] = result
                except Exception as e:
                    _raise_at(e, item_where)

            return augassign_item
        raise self.refuse(target, "illegal expression for augmented assignment")

    def stmt_Delete(self, node: S.Delete):
        deleters = [self._deleter(t) for t in node.targets]

        def delete(env):
            for d in deleters:
                d(env)

        return delete

    def _deleter(self, target: S.Expr):
        where = self.where(target)
        if isinstance(target, S.Name):
            name = target.id
            local = self.scope.kind != "module"

            def delete_name(env):
                try:
                    del env[name]
                except KeyError:
                    if local and self.scope.kind == "function":
                        pass
                    exc = (UnboundLocalError(
                        f"cannot access local variable '{name}' where it is not associated with a value")
                        if local else NameError(f"name '{name}' is not defined"))
                    _raise_at(exc, where)

            return delete_name
        if isinstance(target, S.Attribute):
            name = target.attr
            if name.startswith("_"):
                raise self.refuse(target, str(_private(name)))
            obj = self.expr(target.value)

            def delete_attr(env):
                o = obj(env)
                try:
                    script_delattr(o, name)
                except Exception as e:
                    _raise_at(e, where)

            return delete_attr
        if isinstance(target, S.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.index)

            def delete_item(env):
                o = obj(env)
                k = index(env)
                try:
                    if type(k) is tuple and type(o) is dict:
                        _check_key(k)
                    del o[k]
                except Exception as e:
                    _raise_at(e, where)

            return delete_item
        if isinstance(target, (S.Tuple, S.List)):
            parts = [self._deleter(e) for e in target.elts]

            def delete_all(env):
                for d in parts:
                    d(env)

            return delete_all
        raise self.refuse(target, "cannot delete this expression")

    def _test(self, node: S.Expr):
        """A closure giving the truth of an expression (Tensor.__bool__ may raise)."""
        f = self.expr(node)
        where = self.where(node)

        def test(env):
            v = f(env)
            try:
                return True if v else False
            except Exception as e:
                _raise_at(e, where)

        return test

    def stmt_If(self, node: S.If):
        test = self.expr(node.test)
        where = self.where(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None

        def if_(env):
            t = test(env)
            try:
                t = True if t else False
            except Exception as e:
                _raise_at(e, where)
            if t:
                return body(env)
            if orelse is not None:
                return orelse(env)
            return None

        return if_

    def _loop_body(self, body: list[S.Stmt]):
        self.scope.loops += 1
        try:
            return self.block(body)
        finally:
            self.scope.loops -= 1

    def stmt_For(self, node: S.For):
        iterable = self.expr(node.iter)
        iter_where = self.where(node.iter)
        where = self.where(node)
        body = self._loop_body(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        st = self.state
        if isinstance(node.target, S.Name):
            name = node.target.id
            store = None
        else:
            name = None
            store = self.store(node.target)

        def for_(env):
            obj = iterable(env)
            try:
                it = iter(obj.range if type(obj) is _LongRange else obj)
            except Exception as e:
                _raise_at(e, iter_where)
            try:
                for x in it:
                    st.ticks -= 1
                    if st.ticks < 0:
                        st.tick()
                    if store is None:
                        env[name] = x
                    else:
                        store(env, x)
                    signal = body(env)
                    if signal is not None:
                        if signal is BREAK:
                            return None
                        if signal is not CONTINUE:
                            return signal
            except Exception as e:
                _raise_at(e, where)
            if orelse is not None:
                return orelse(env)
            return None

        return for_

    def stmt_While(self, node: S.While):
        test = self._test(node.test)
        where = self.where(node)
        body = self._loop_body(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        st = self.state

        def while_(env):
            while test(env):
                st.ticks -= 1
                if st.ticks < 0:
                    try:
                        st.tick()
                    except LimitError as e:
                        _raise_at(e, where)
                signal = body(env)
                if signal is not None:
                    if signal is BREAK:
                        return None
                    if signal is not CONTINUE:
                        return signal
            if orelse is not None:
                return orelse(env)
            return None

        return while_

    def stmt_FunctionDef(self, node: S.FunctionDef):
        decorators = [(self.expr(d), self.where(d)) for d in node.decorators]
        define = self._function(node, node.name, node.params, node.body, None)
        name = node.name

        def function_def(env):
            decos = [(d(env), w) for d, w in decorators]
            fn = define(env)
            for deco, w in reversed(decos):
                try:
                    fn = deco(fn)
                except Exception as e:
                    _raise_at(e, w)
            env[name] = fn

        return function_def

    def stmt_ClassDef(self, node: S.ClassDef):
        outer = self.scope
        bases = [(self.expr(b), self.where(b)) for b in node.bases]
        decorators = [(self.expr(d), self.where(d)) for d in node.decorators]
        bound = _bound_names(node.body, set())
        for stmt in node.body:
            names = _bound_names([stmt], set())
            for n in sorted(names):
                # Private names could override the engine's internals (Function._node_class, ...), and a
                # script can never read them back (attributes starting with '_' are refused) anyway.
                if n.startswith("_") and n not in _CLASS_DUNDERS:
                    raise self.refuse(stmt, f"gradscript classes cannot define '{n}' (names starting with "
                                      "'_' are private, except the special methods gradscript supports)")
        qualname = outer.qualname + node.name
        scope = _Scope("class", outer, bound, qualname + ".")
        scope.depth = outer.depth
        scope.max_depth = outer.max_depth
        self.scope = scope
        try:
            body = self.block(node.body)
        finally:
            self.scope = outer
            outer.max_depth = max(outer.max_depth, scope.max_depth)
        name = node.name
        where = self.where(node)
        in_class = outer.kind == "class"
        function_class = self.interp._function_class

        def class_def(env):
            base_values = []
            for b, w in bases:
                v = b(env)
                try:
                    _check_base(v, function_class)
                except Exception as e:
                    _raise_at(e, w)
                base_values.append(v)
            decos = [(d(env), w) for d, w in decorators]
            ns = {0: env[0] if in_class else env}
            body(ns)
            members = {k: v for k, v in ns.items() if type(k) is str}
            members["__module__"] = "__main__"
            members["__qualname__"] = qualname
            members["__gradscript__"] = True
            try:
                cls = types.new_class(name, tuple(base_values), exec_body=lambda d: d.update(members))
            except Exception as e:
                _raise_at(e, where)
            for deco, w in reversed(decos):
                try:
                    cls = deco(cls)
                except Exception as e:
                    _raise_at(e, w)
            env[name] = cls

        return class_def

    def stmt_Assert(self, node: S.Assert):
        test = self._test(node.test)
        msg = self.expr(node.msg) if node.msg is not None else None
        where = self.where(node)

        def assert_(env):
            if not test(env):
                exc = AssertionError(msg(env)) if msg is not None else AssertionError()
                raise _error_at(exc, where)

        return assert_

    def stmt_Raise(self, node: S.Raise):
        where = self.where(node)
        st = self.state
        if node.exc is None:

            def reraise(env):
                if not st.handling:
                    raise _error_at(RuntimeError("No active exception to reraise"), where)
                raise st.handling[-1]

            return reraise
        exc_fn = self.expr(node.exc)

        def raise_(env):
            v = exc_fn(env)
            try:
                if isinstance(v, type) and issubclass(v, BaseException):
                    if not issubclass(v, Exception):
                        raise TypeError(f"gradscript scripts cannot raise {v.__name__}")
                    v = v()
                if not isinstance(v, BaseException):
                    raise TypeError("exceptions must derive from BaseException")
                if not isinstance(v, Exception):
                    raise TypeError(f"gradscript scripts cannot raise {type(v).__name__}")
            except Exception as e:
                _raise_at(e, where)
            raise _error_at(_runtime_error(v), where)

        return raise_

    def stmt_Try(self, node: S.Try):
        body = self.block(node.body)
        handlers = []
        for h in node.handlers:
            types_fn = self.expr(h.type) if h.type is not None else None
            handlers.append((types_fn, h.name, self.block(h.body), self.where(h.type or h)))
        orelse = self.block(node.orelse) if node.orelse else None
        final = self.block(node.finalbody) if node.finalbody else None
        st = self.state

        def try_except(env):
            try:
                signal = body(env)
            except ScriptRuntimeError as err:
                exc = _script_exception(err)
                for types_fn, name, handler, where in handlers:
                    if types_fn is not None:
                        classes = types_fn(env)
                        try:
                            matched = _matches(exc, classes)
                        except Exception as e:
                            _raise_at(e, where)
                        if not matched:
                            continue
                    st.handling.append(err)
                    try:
                        if name is not None:
                            env[name] = exc
                        return handler(env)
                    finally:
                        st.handling.pop()
                        if name is not None:
                            env.pop(name, None)
                raise
            if orelse is not None:
                return orelse(env)
            return signal

        attempt = try_except if handlers else body
        if final is None:
            return attempt

        def try_finally(env):
            try:
                signal = attempt(env)
            except ScriptRuntimeError:
                # Limits and Ctrl-C end the program at once; a script error still runs `finally`.
                final_signal = final(env)
                if final_signal is not None:
                    return final_signal  # `return`/`break` in finally drops the error, as in Python
                raise
            final_signal = final(env)
            return final_signal if final_signal is not None else signal

        return try_finally

    def stmt_With(self, node: S.With):
        body = self.block(node.body)
        for item in reversed(node.items):
            body = self._with_item(item, body)
        return body

    def _with_item(self, item: S.WithItem, body):
        manager_fn = self.expr(item.context_expr)
        store = self.store(item.optional_vars) if item.optional_vars is not None else None
        where = self.where(item.context_expr)
        grad_mode = self.interp._grad_mode_class

        def with_(env):
            manager = manager_fn(env)
            try:
                if grad_mode is None or not isinstance(manager, grad_mode):
                    raise TypeError(
                        f"gradscript supports 'with' only on torch.no_grad(), torch.enable_grad(), "
                        f"torch.set_grad_enabled() and torch.autograd's anomaly modes, not on a "
                        f"'{type(manager).__name__}' object"
                    )
                entered = manager.__enter__()
            except Exception as e:
                _raise_at(e, where)
            try:
                if store is not None:
                    store(env, entered)
                signal = body(env)
            except BaseException as err:
                exc = _script_exception(err) if isinstance(err, ScriptRuntimeError) else err
                suppress = manager.__exit__(type(exc), exc, None)
                if suppress and isinstance(err, ScriptRuntimeError):
                    return None
                raise
            manager.__exit__(None, None, None)
            return signal

        return with_

    def stmt_Import(self, node: S.Import):
        modules = self.interp.modules
        bindings = []
        for alias in node.names:
            if alias.asname is not None:
                bindings.append((alias.asname, alias.name, alias.name))
            else:
                bindings.append((alias.name.split(".")[0], alias.name.split(".")[0], alias.name))
        where = self.where(node)

        def import_(env):
            for bind_name, module_name, full_name in bindings:
                try:
                    _require_module(modules, full_name)
                    _require_module(modules, module_name)
                except Exception as e:
                    _raise_at(e, where)
                env[bind_name] = modules[module_name]

        return import_

    def stmt_ImportFrom(self, node: S.ImportFrom):
        modules = self.interp.modules
        module_name = node.module
        where = self.where(node)
        star = len(node.names) == 1 and node.names[0].name == "*"
        if star and self.scope.kind != "module":
            raise self.refuse(node, "import * only allowed at module level")
        names = [(a.asname or a.name, a.name) for a in node.names]

        def import_from(env):
            try:
                module = _require_module(modules, module_name)
                if star:
                    for k, v in module.members.items():
                        if not k.startswith("_"):
                            env[k] = v
                    return
                values = []
                for bind_name, member in names:
                    if member in module.members and not member.startswith("_"):
                        values.append((bind_name, module.members[member]))
                    elif f"{module_name}.{member}" in modules:
                        values.append((bind_name, modules[f"{module_name}.{member}"]))
                    elif is_pytorch_name(module_name, member):
                        raise ImportError(f"cannot import name '{member}' from '{module_name}': it is "
                                          "PyTorch's, but not available in gradscript")
                    else:
                        raise ImportError(f"cannot import name '{member}' from '{module_name}'")
            except Exception as e:
                _raise_at(e, where)
            for bind_name, v in values:
                env[bind_name] = v

        return import_from


def _require_module(modules: dict, name: str) -> ScriptModule:
    module = modules.get(name)
    if module is None:
        known = ", ".join(sorted(modules)) or "none"
        raise ModuleNotFoundError(f"No module named '{name}' (gradscript provides only: {known})")
    return module


def _matches(exc: BaseException, classes) -> bool:
    if isinstance(classes, tuple):
        for c in classes:
            if not (isinstance(c, type) and issubclass(c, BaseException)):
                raise TypeError("catching classes that do not inherit from BaseException is not allowed")
        return isinstance(exc, classes)
    if not (isinstance(classes, type) and issubclass(classes, BaseException)):
        raise TypeError("catching classes that do not inherit from BaseException is not allowed")
    return isinstance(exc, classes)


def _check_base(base, function_class) -> None:
    """A script class may extend another script class, an exception class, or torch.autograd.Function."""
    if not isinstance(base, type):
        raise TypeError(f"gradscript classes can extend only classes, not a '{type(base).__name__}' object")
    if _is_script_class(base):
        return
    if function_class is not None and issubclass(base, function_class):
        return
    if issubclass(base, Exception) and base.__module__ == "builtins":
        return
    raise TypeError(
        f"gradscript classes can extend script classes, exceptions and torch.autograd.Function, not "
        f"'{base.__name__}'"
    )


# ----------------------------------------------------------------- the interpreter
class Interpreter:
    """Runs gradscript source in one persistent top-level scope (`globals`)."""

    def __init__(self, *, out=None, limits: Limits = DEFAULT, filename: str = "<script>",
                 modules: dict[str, ScriptModule] | None = None):
        self.out = out if out is not None else sys.stdout
        self.limits = limits
        self.filename = filename
        self.modules = build_modules() if modules is None else modules
        self._state = _RunState()
        # Script calls share one budget of Python frames (what is left under the recursion limit after the
        # host's stack, a top-level statement and a margin). Each call weighs its own frame cost, but at
        # least capacity / max_call_depth, so the sum stays under the capacity exactly when the calls are
        # at most max_call_depth deep and their frames fit: one counter and one comparison per call.
        calls = max(0, limits.max_call_depth)
        frames = self._recursion_target() - _HOST_FRAMES - 4 * limits.max_depth - _FRAME_MARGIN
        self._call_unit = max(1, frames // calls) if calls else frames + 1
        self._call_capacity = self._call_unit * calls
        self._grad_mode_class, self._function_class, tensor_class = _engine_classes()
        self._fast_types = frozenset({float, tensor_class} - {None})
        self.builtins = _make_builtins(self)
        self.globals: dict = {}
        if "torch" in self.modules:
            self.globals["torch"] = self.modules["torch"]
        self.predefined = dict(self.globals)

    def _recursion_target(self) -> int:
        # Compiling and running nest about 3 frames per level of the AST (limits.max_depth, checked by the
        # parser); script calls get what is left after that, the host's stack and a margin. Never above
        # what the C stack survives: repr() and == of nested data recurse in C under this same limit
        # (a 40,000-deep dict's repr overflows an 8 MB stack), so a --max-depth that would need more
        # gets a LimitError from the compiler instead.
        return max(_RECURSION_LIMIT, min(_SAFE_RECURSION_LIMIT,
                                         8 * self.limits.max_depth + 2 * _FRAME_MARGIN + _HOST_FRAMES))

    def run(self, source: str) -> None:
        """Parse and run `source` in `self.globals`."""
        self._execute(source, interactive=False)

    def run_interactive(self, source: str, display=None) -> tuple[bool, object]:
        """Run `source`; if it ends with an expression statement, return (True, its value).

        With `display` (the REPL's echo), every expression statement of `source` at the top level, also
        inside its loops, ifs, withs and trys but not in function or class bodies, passes its value to
        `display` when it is not None, as it runs and under the run's limits, as Python's REPL does; then
        nothing is returned: (False, None). A failing `display` is located at the statement."""
        return self._execute(source, interactive=True, display=display)

    def _execute(self, source: str, *, interactive: bool, display=None):
        from .parser import parse

        target = self._recursion_target()
        old_limit = sys.getrecursionlimit()
        if old_limit < target:
            sys.setrecursionlimit(target)
        old_active = limits_module.active
        limits_module.active = self.limits
        # int(str) and str(int) are quadratic in the digits: keep Python's default cap even if the host
        # lifted it (the same ValueError Python itself raises past 4,300 digits).
        get_digits = getattr(sys, "get_int_max_str_digits", lambda: _INT_DIGITS)  # Python < 3.10.7: none
        old_digits = get_digits()
        if old_digits == 0 or old_digits > _INT_DIGITS:
            sys.set_int_max_str_digits(_INT_DIGITS)
        try:
            self._state.reset(self.limits)  # --timeout counts from here: a slow parse is part of the run
            # Parsing and lowering allocate a few objects per character and free almost none of them, so
            # the cyclic collector would walk the growing heap again and again: quadratic time on a 1 MB
            # script (16 s instead of 4 s). What they allocate is bounded by --max-source-bytes.
            collecting = gc.isenabled()
            gc.disable()
            try:
                module = parse(source, filename=self.filename, limits=self.limits)
                block, last = _Compiler(self, source).module(module, interactive=interactive, display=display)
            except RecursionError:  # only with a --max-depth past what _SAFE_RECURSION_LIMIT allows
                depth = self.limits.max_depth
                raise LimitError(f"too deeply nested to compile (limit {depth}, --max-depth)") from None
            finally:
                if collecting:
                    gc.enable()
            with warnings.catch_warnings():
                # numpy's own RuntimeWarnings ("Mean of empty slice", "invalid value encountered") are
                # the engine's business, not the script's: PyTorch prints nothing for those cases.
                warnings.simplefilter("ignore", RuntimeWarning)
                block(self.globals)
                if last is not None:
                    return True, last(self.globals)
            return False, None
        finally:
            limits_module.active = old_active
            if get_digits() != old_digits:
                sys.set_int_max_str_digits(old_digits)
            if old_limit < target:
                sys.setrecursionlimit(old_limit)


def _engine_classes():
    """(the context managers `with` takes, Function, Tensor) of the engine, or None for each part that is
    missing."""
    try:
        from .engine import GradMode, detect_anomaly

        GradMode = (GradMode, detect_anomaly)  # noqa: N806
    except ImportError:
        GradMode = None  # noqa: N806
    try:
        from .function import Function
    except ImportError:
        Function = None  # noqa: N806
    try:
        from .tensor import Tensor
    except ImportError:
        Tensor = None  # noqa: N806
    return GradMode, Function, Tensor
