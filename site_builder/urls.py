"""Web addresses as Pantau keeps them: well formed (an http(s) scheme, a real host name,
nothing pasted into them) and in one form (no default port, no fragment a sharing widget
appended), on the pages and in the data alike."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .i18n import N_, _

_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_STRAY_SCHEME = re.compile(r"(?<![a-z0-9+.-])(?!https?:)[a-z][a-z0-9+.-]*:/", re.I)


def well_formed_url(value: str) -> str:
    """An http(s) address with a real host name and nothing pasted into it: no spaces, no
    second scheme such as 'whatsapp:/send' (an archived copy's embedded http(s) address is
    fine)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not value.lower().startswith(f"{parts.scheme}://"):
        raise ValueError(
            _("'{url}' is not an address starting with http:// or https://").format(url=value)
        )
    if any(c.isspace() for c in value):
        raise ValueError(_("'{url}' contains a space; a source address has none").format(url=value))
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise ValueError(
            _("'{url}' has an invalid port after the host name").format(url=value)
        ) from None
    if not (_HOST.match(host) or _IPV4.match(host) or host == "localhost") or parts.username:
        raise ValueError(
            _("'{url}' has no valid host name (like www.example.go.id)").format(url=value)
        )
    del port
    rest = value[len(parts.scheme) + 3 :]
    stray = _STRAY_SCHEME.search(rest)
    if stray:
        raise ValueError(
            _("'{url}' has a stray '{stray}' inside it; copy the page's own address").format(
                url=value, stray=stray.group(0)
            )
        )
    return value


#: The port each scheme has when an address names none.
DEFAULT_PORTS = {"http": "80", "https": "443"}
#: A fragment directive ('#:~:text=...' highlights words when the link is opened); it and
#: everything after it address nothing in the page.
FRAGMENT_DIRECTIVE = ":~:"
#: Fragments that sharing and tracking widgets append and that name no place in the page:
#: AddThis' '#.XyZ12ab.twitter' and '#at_pco=...', '#Echobox=...', '#xtor=...', '#utm_...'.
_SHARING_FRAGMENT = re.compile(
    r"\.[\w-]+(?:\.[\w-]+)*|(?:echobox|xtor)=.*|utm[_-].*|at_\w+=.*", re.IGNORECASE | re.DOTALL
)
#: Why an address was changed, as ``pantau check`` says it.
DEFAULT_PORT_REMOVED = N_("default port removed")
LOWER_CASE = N_("scheme and host written in lower case")
SHARING_FRAGMENT_REMOVED = N_("sharing fragment removed")
TEXT_FRAGMENT_REMOVED = N_("text fragment removed")
EMPTY_FRAGMENT_REMOVED = N_("empty fragment removed")


def normalise_url_with_reasons(url: str) -> tuple[str, list[str]]:
    """The address in the one form Pantau keeps, and why it differs from ``url`` (the
    reasons untranslated; empty when it does not). See ``normalise_url``."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in DEFAULT_PORTS:
        return url, []
    reasons: list[str] = []
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host_port = authority.rpartition("@")
    if host_port.startswith("["):  # an IPv6 address: [::1]:443
        host, colon, port = host_port.partition("]:")
        host, colon = (host + "]", ":") if colon else (host, "")
    else:
        host, colon, port = host_port.partition(":")
    default = port.isascii() and (port == "" or port.lstrip("0") == DEFAULT_PORTS[scheme.lower()])
    if colon and default:
        colon = port = ""
        reasons.append(DEFAULT_PORT_REMOVED)
    lower = (scheme.lower(), host.lower() if host.isascii() else host)
    if lower != (scheme, host):
        scheme, host = lower
        reasons.append(LOWER_CASE)
    before, hash_sign, fragment = tail.partition("#")
    if hash_sign:
        directive = fragment.find(FRAGMENT_DIRECTIVE)
        if directive >= 0:
            fragment = fragment[:directive]
            reasons.append(TEXT_FRAGMENT_REMOVED)
        if _SHARING_FRAGMENT.fullmatch(fragment):
            fragment = ""
            reasons.append(SHARING_FRAGMENT_REMOVED)
        elif not fragment and directive < 0:
            reasons.append(EMPTY_FRAGMENT_REMOVED)
        tail = before + ("#" + fragment if fragment else "")
    if not reasons:
        return url, []
    return f"{scheme}://{userinfo}{at}{host}{colon}{port}{tail}", reasons


def normalise_url(url: str) -> str:
    """The address in the one form Pantau keeps: scheme and host in lower case, no default
    port (:443 for https, :80 for http, or an empty one), and no fragment that a sharing or
    tracking widget appended ('#.XyZ12ab', '#Echobox=...', '#xtor=...', '#utm_...',
    '#at_pco=...'), no text fragment ('#:~:text=...'; '#pasal-5:~:text=...' keeps
    '#pasal-5') and no empty '#'. Everything else is kept as written, the query included, so
    an address that needs none of this is returned unchanged."""
    return normalise_url_with_reasons(url)[0]
