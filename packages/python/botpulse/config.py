"""Settings from arguments or the environment, with the seeds' names (as packages/sdk/src/config.ts).

BOTPULSE_DSN > SENTRY_DSN; SENTRY_ENVIRONMENT > ENVIRONMENT > "production"; SENTRY_RELEASE, else the
git commit; SENTRY_TRACES_SAMPLE_RATE / SENTRY_PROFILES_SAMPLE_RATE, else per environment
(seed 003: production 0.1, staging 0.5, development 1.0).
"""
import os
import re
import socket

_HEX40 = re.compile(r"^[0-9a-f]{40}$")


def default_sample_rate(environment):
    """Traces/profiles sample rate when none is configured (seed 003)."""
    env = (environment or "").lower()
    if env.startswith("prod"):
        return 0.1
    if env.startswith("stag"):
        return 0.5
    if env.startswith("dev") or env in ("local", "test"):
        return 1.0
    return 0.1


def resolve_dsn(option, env):
    if option is False:
        return None
    dsn = option if option is not None else (env.get("BOTPULSE_DSN") or env.get("SENTRY_DSN"))
    dsn = (dsn or "").strip()
    return dsn or None


def resolve_environment(option, env):
    return option or env.get("SENTRY_ENVIRONMENT") or env.get("ENVIRONMENT") or "production"


def resolve_rate(option, raw, fallback):
    value = option
    if value is None and raw not in (None, ""):
        try:
            value = float(raw)
        except ValueError:
            value = None
    if value is None or value != value:
        value = fallback
    return min(1.0, max(0.0, float(value)))


def git_commit(cwd=None):
    """The commit checked out in `cwd` (read from .git without running git), or None."""
    try:
        directory = os.path.abspath(cwd or os.getcwd())
        while True:
            candidate = os.path.join(directory, ".git")
            if os.path.exists(candidate):
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent
        git_dir = candidate
        if os.path.isfile(candidate):
            with open(candidate) as f:
                m = re.search(r"^gitdir:\s*(.+)$", f.read(), re.M)
            if not m:
                return None
            git_dir = os.path.join(directory, m.group(1).strip())
        with open(os.path.join(git_dir, "HEAD")) as f:
            head = f.read().strip()
        if _HEX40.match(head):
            return head
        if not head.startswith("ref:"):
            return None
        ref = head[4:].strip()
        common = git_dir
        commondir = os.path.join(git_dir, "commondir")
        if os.path.exists(commondir):
            with open(commondir) as f:
                common = os.path.join(git_dir, f.read().strip())
        for base in (git_dir, common):
            loose = os.path.join(base, ref)
            if os.path.exists(loose):
                with open(loose) as f:
                    return f.read().strip()
        packed = os.path.join(common, "packed-refs")
        if os.path.exists(packed):
            with open(packed) as f:
                for line in f:
                    if line.rstrip("\n").endswith(" " + ref):
                        return line.split(" ")[0]
    except OSError:
        return None
    return None


class Settings(object):
    """The settled configuration of a client."""

    def __init__(self, dsn=None, environment=None, release=None, server_name=None, sample_rate=None,
                 traces_sample_rate=None, profiles_sample_rate=None, env=None):
        env = os.environ if env is None else env
        self.dsn = resolve_dsn(dsn, env)
        self.environment = resolve_environment(environment, env)
        self.release = release or env.get("SENTRY_RELEASE") or git_commit()
        self.server_name = server_name or socket.gethostname()
        self.sample_rate = resolve_rate(sample_rate, env.get("SENTRY_SAMPLE_RATE"), 1.0)
        fallback = default_sample_rate(self.environment)
        self.traces_sample_rate = resolve_rate(traces_sample_rate, env.get("SENTRY_TRACES_SAMPLE_RATE"), fallback)
        self.profiles_sample_rate = resolve_rate(profiles_sample_rate, env.get("SENTRY_PROFILES_SAMPLE_RATE"), fallback)
