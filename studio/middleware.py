"""Send htmx requests whose session ended to the login page as a whole page; compress text."""

from django.conf import settings
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """Turn the login redirect of an htmx request into an HX-Redirect.

    Otherwise htmx follows the 302 and swaps the login page into the form or a job card.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "htmx", False) and response.status_code == 302:
            login = resolve_url(settings.LOGIN_URL)
            if response["Location"].split("?")[0] == login:
                return HttpResponseClientRedirect(response["Location"])
        return response


COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml")


class GZipTextMiddleware(GZipMiddleware):
    """Gzip pages and JSON, never media: a video streamed in byte ranges must keep its
    Content-Length, and JPEG or MP4 bytes do not shrink anyway."""

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith(COMPRESSIBLE):
            return response
        return super().process_response(request, response)
