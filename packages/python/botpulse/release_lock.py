"""`python -m botpulse.release_lock`: seed 001's release_bot_lock.py.

Shows who holds the polling lock and deletes the key, but refuses a holder that is alive unless
--force: a live holder is polling, and removing its lock lets a second poller in (409 Conflicts).
Alive means: on this host, its pid runs; on another host we cannot tell, so it counts as alive
(its key expires on its own within the TTL if it died). A key without a TTL never expires: stuck.

Exit status: 0 released or already free, 1 refused (live holder), 2 Redis error.
"""
import argparse
import os
import socket
import sys

from .lock import DEFAULT_KEY, describe_holder, parse_holder


def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def holder_is_live(holder, ttl_ms):
    if ttl_ms == -1:
        return False, "the key has no TTL, so it would never expire (stuck)"
    if not holder:
        return True, "its value is unreadable, so its holder cannot be checked"
    if holder.get("host") == socket.gethostname():
        if pid_alive(holder.get("pid")):
            return True, "pid %s runs on this host" % holder.get("pid")
        return False, "pid %s no longer runs on this host" % holder.get("pid")
    return True, "it is on another host (%s), where its pid cannot be checked" % holder.get("host")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m botpulse.release_lock", description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--key", default=DEFAULT_KEY)
    parser.add_argument("--force", action="store_true", help="delete the key even if its holder is alive")
    args = parser.parse_args(argv)
    try:
        import redis
    except ImportError:
        print("release_lock needs the redis package (pip install redis, or apt-get install python3-redis)", file=sys.stderr)
        return 2
    try:
        client = redis.Redis.from_url(args.redis_url)
        raw = client.get(args.key)
        if raw is None:
            print('polling lock "%s" is free' % args.key)
            return 0
        holder = parse_holder(raw)
        ttl_ms = client.pttl(args.key)
        live, why = holder_is_live(holder, ttl_ms)
        print('polling lock "%s" is %s; %s' % (args.key, describe_holder(holder), why))
        if live and not args.force:
            left = " (it expires in %.1f s unless refreshed)" % (ttl_ms / 1000.0) if ttl_ms > 0 else ""
            print("refusing to release a live holder%s; stop that process, or pass --force" % left, file=sys.stderr)
            return 1
        # Compare-and-delete: a holder that took over meanwhile keeps its lock.
        released = client.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, args.key, raw)
        if int(released) == 1:
            print('released polling lock "%s"' % args.key)
            return 0
        print('polling lock "%s" changed hands meanwhile; nothing released' % args.key, file=sys.stderr)
        return 1
    except redis.RedisError as error:
        print("Redis error: %s" % error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
