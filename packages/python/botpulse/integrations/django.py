"""Django: records 4xx/5xx like seed 004's ErrorLoggingMiddleware (method, status, URL pattern from
the resolver, full URL, user, client ip, user agent, exception type and traceback).

    MIDDLEWARE = [..., "botpulse.integrations.django.BotpulseMiddleware"]

A view that raises becomes an error event (level error, status 500) with the exception; a 4xx
response becomes a warning message event grouped by status, method and URL pattern (the path when
nothing resolved, as seed 004 does). Settings: BOTPULSE_DJANGO_IGNORE_STATUS (a list of codes not
recorded, default []), BOTPULSE_DJANGO_RECORD_4XX (default True).
"""
from .. import get_client
from ..scrub import scrub_string

MECHANISM = {"type": "django.middleware", "handled": False}
# What Django's response_for_exception makes of these: a 4xx, recorded from the response.
_HTTP_EXCEPTIONS = ("Http404", "Resolver404", "PermissionDenied", "BadRequest", "SuspiciousOperation",
                    "MultiPartParserError", "RequestDataTooBig", "TooManyFieldsSent")


def client_ip(request):
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def url_pattern(request):
    """The route the resolver matched (`items/<int:item_id>/`), else the path (nothing resolved)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            from django.urls import resolve
            match = resolve(request.path_info)
        except Exception:
            match = None
    route = getattr(match, "route", None) if match is not None else None
    return ("/" + route.lstrip("^").rstrip("$")) if route else request.path


def _user(request):
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    out = {"id": str(user.pk)}
    username = getattr(user, "get_username", lambda: None)()
    if username:
        out["username"] = username
    return out


def _is_http_exception(exc):
    return any(cls.__name__ in _HTTP_EXCEPTIONS for cls in type(exc).__mro__)


class BotpulseMiddleware(object):
    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.ignore_status = set(getattr(settings, "BOTPULSE_DJANGO_IGNORE_STATUS", ()))
        self.record_4xx = getattr(settings, "BOTPULSE_DJANGO_RECORD_4XX", True)

    def __call__(self, request):
        response = self.get_response(request)
        status = getattr(response, "status_code", 200)
        if status >= 400 and status not in self.ignore_status and not getattr(request, "_botpulse_recorded", False):
            if status >= 500 or self.record_4xx:
                self.record(request, status, None)
        return response

    def process_exception(self, request, exception):
        if not _is_http_exception(exception) and 500 not in self.ignore_status:
            self.record(request, 500, exception)
            request._botpulse_recorded = True
        return None  # Django answers as it would have

    def record(self, request, status, exception):
        pattern = url_pattern(request)
        ua = request.META.get("HTTP_USER_AGENT", "")[:500]
        req = {"url": scrub_string(request.build_absolute_uri()), "method": request.method,
               "headers": {"User-Agent": ua} if ua else {}, "env": {"REMOTE_ADDR": client_ip(request)}}
        if request.META.get("QUERY_STRING"):
            req["query_string"] = scrub_string(request.META["QUERY_STRING"])
        error_type = type(exception).__name__ if exception is not None else "HTTP %d" % status
        tags = {"origin": "http", "http.status_code": status, "http.method": request.method,
                "url_pattern": pattern, "error_type": error_type}
        contexts = {"response": {"status_code": status}}
        user = _user(request)
        transaction = "%s %s" % (request.method, pattern)
        client = get_client()
        if exception is not None:
            return client.capture_exception(exception, level="error", tags=tags, contexts=contexts, user=user,
                                            mechanism=dict(MECHANISM), transaction=transaction, request=req)
        level = "error" if status >= 500 else "warning"
        return client.capture_message("%d %s" % (status, transaction), level=level, tags=tags, contexts=contexts,
                                      user=user, transaction=transaction, request=req,
                                      fingerprint=["http", str(status), request.method, pattern])
