"""Sentry `exception.values` from a Python exception, for when sentry-sdk is not installed."""
import linecache
import os
import sys
import sysconfig
import traceback

_CONTEXT_LINES = 5
_LIBRARY_DIRS = tuple(p for p in {sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib")} if p)


def _in_app(filename):
    if not filename or filename.startswith("<"):
        return False
    if "site-packages" in filename or "dist-packages" in filename:
        return False
    return not any(filename.startswith(d) for d in _LIBRARY_DIRS)


def _frames(tb):
    frames = []
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        out = {
            "filename": filename,
            "abs_path": os.path.abspath(filename) if not filename.startswith("<") else filename,
            "function": frame.f_code.co_name,
            "module": frame.f_globals.get("__name__"),
            "lineno": lineno,
            "in_app": _in_app(filename),
        }
        line = linecache.getline(filename, lineno)
        if line:
            out["context_line"] = line.rstrip("\n")
            out["pre_context"] = [linecache.getline(filename, n).rstrip("\n") for n in range(max(1, lineno - _CONTEXT_LINES), lineno)]
            out["post_context"] = [linecache.getline(filename, n).rstrip("\n") for n in range(lineno + 1, lineno + 1 + _CONTEXT_LINES)]
        frames.append(out)
    return frames


def exceptions_from(exc, mechanism=None, tb=None):
    """The cause chain, oldest first (Sentry's order): the thrown exception is the last value."""
    chain = []
    seen = set()
    current = exc
    while current is not None and id(current) not in seen and len(chain) < 10:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    values = []
    for index, error in enumerate(reversed(chain)):
        thrown = index == len(chain) - 1
        trace = error.__traceback__ or (tb if thrown else None)
        value = {"type": type(error).__name__, "module": type(error).__module__, "value": _text(error)}
        frames = _frames(trace) if trace is not None else []
        if frames:
            value["stacktrace"] = {"frames": frames}
        if thrown and mechanism:
            value["mechanism"] = mechanism
        values.append(value)
    return values


def _text(error):
    try:
        return str(error)
    except Exception:
        return "<unprintable %s>" % type(error).__name__


def current_exception():
    return sys.exc_info()[1]
