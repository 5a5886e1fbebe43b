"""The parsing libraries may not download anything themselves: their download functions refuse.

Only the guarded fetcher (:mod:`index.feeds`) may use the network; htmldate, trafilatura, courlan
and feedparser are handed parsed trees or streams, and these refusals back that up.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from index.errors import FetchError

log = logging.getLogger(__name__)


def _refuse_download(*args: object, **kwargs: object) -> Any:
    """Stands in for a library's own download function: every request goes through :func:`index.feeds.fetch`."""
    log.warning("refused a download by a parsing library (only index.feeds._fetch may use the network)")
    raise FetchError("downloads by parsing libraries are refused")


class _RefusingPool:
    """Stands in for a library's own urllib3 pool manager."""

    def request(self, *args: object, **kwargs: object) -> Any:
        return _refuse_download()

    def urlopen(self, *args: object, **kwargs: object) -> Any:
        return _refuse_download()


#: ``module: attributes`` replaced by :func:`seal_library_downloads`: the public download functions
#: and the low-level ones they all end in (other modules' imported names reach those too).
_DOWNLOAD_PATHS = {
    "htmldate.utils": ("fetch_url",),
    "trafilatura": ("fetch_url", "fetch_response"),
    "trafilatura.downloads": (
        "fetch_url",
        "fetch_response",
        "_send_urllib_request",
        "_send_pycurl_request",
        "_urllib3_is_live_page",
        "_pycurl_is_live_page",
        "is_live_page",
        "_initiate_pool",
    ),
    "courlan.network": ("redirection_test",),
    "courlan.core": ("redirection_test",),
    "feedparser.http": ("get",),
}
_POOLS = {
    "htmldate.utils": ("HTTP_POOL",),
    "courlan.network": ("HTTP_POOL",),
    "trafilatura.downloads": ("HTTP_POOL", "NO_CERT_POOL"),
}


def seal_library_downloads() -> None:
    """Replace the download functions and pools of the parsing libraries already imported.

    Defence in depth: callers also never hand these libraries a string they could take for a URL
    or a file name. Idempotent and cheap; call it right after importing one of them.
    """
    for name, attributes in _DOWNLOAD_PATHS.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        for attribute in attributes:
            if getattr(module, attribute, None) not in (None, _refuse_download):
                setattr(module, attribute, _refuse_download)
    for name, pools in _POOLS.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        for attribute in pools:
            if hasattr(module, attribute) and not isinstance(getattr(module, attribute), _RefusingPool):
                setattr(module, attribute, _RefusingPool())
