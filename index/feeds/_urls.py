"""Canonical URLs: one spelling per page, so the same item reached through different links is seen once.

Campaign parameters (``utm_*``, ``fbclid``…), fragments, default ports, trailing slashes and host
case never change the page, so none of them may make an item look new.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters that only track the reader (exact names, lower-case).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "referrer",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "smid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "spm",
        "at_medium",
        "at_campaign",
    }
)
#: Parameter-name prefixes that only track the reader.
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_", "__twitter")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only identifies the campaign or the referrer."""
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL in one spelling (for duplicate detection; not necessarily fetchable by every server):
    lower-case scheme and host, no user info, default port, fragment or tracking parameters, the rest
    sorted, ``//`` collapsed, no trailing slash but the root's; a non-http(s) string comes back stripped."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return text
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))
