"""SDP helper: resolve a same-machine browser's mDNS ICE candidates without multicast DNS.

Browsers hide their host candidates behind random ``<uuid>.local`` names. aioice resolves such
names by multicast DNS with a one-second timeout, which delays the answer (and the first
frame) by a second. A page served on the loopback address runs on this machine, so its host
candidates are this machine's own addresses: each ``.local`` candidate is replaced by one
candidate per local IPv4 address (the wrong ones simply fail their connectivity checks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["resolve_local_candidates"]

_MDNS_CANDIDATE = re.compile(
    r"^(a=candidate:\S+ \d+ \S+ \d+ )([0-9A-Za-z-]+\.local)( \d+ typ host.*)$"
)


def resolve_local_candidates(sdp: str, addresses: Sequence[str]) -> str:
    """Rewrite ``.local`` host candidates of an SDP to the given addresses.

    Args:
        sdp: Session description from a browser on this machine.
        addresses: This machine's IPv4 addresses.

    Returns:
        The SDP with each mDNS candidate line replaced by one line per address (unchanged when
        there are no addresses or no such candidates).
    """
    if not addresses:
        return sdp
    out: list[str] = []
    for line in sdp.split("\r\n"):
        m = _MDNS_CANDIDATE.match(line)
        if m is None:
            out.append(line)
            continue
        out += [f"{m.group(1)}{address}{m.group(3)}" for address in addresses]
    return "\r\n".join(out)
