"""Check that the demo can listen on ``--host``/``--port`` before it says it is serving there.

A bind of a throwaway socket finds a busy port or an address this machine does not have; the
web server would otherwise fail after the "serving on" line, with its own advice.
"""

from __future__ import annotations

import errno
import socket


def address_problem(host: str, port: int) -> str | None:
    """Why the demo cannot listen on ``host``:``port`` (one line naming the option to change),
    or None when a socket binds there now."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return (
            f"argument --host: {host!r} is not an address or known host name ({exc}); give one "
            "of this machine's addresses with --host, e.g. 127.0.0.1 or 0.0.0.0 (all interfaces)"
        )
    family, kind, protocol, _, address = found[0]
    with socket.socket(family, kind, protocol) as probe:
        # As the web server does: a port left in TIME_WAIT by an earlier run is free to reuse.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"argument --port: port {port} on {host} is already in use (another server "
                    "is listening there); choose a free one with --port"
                )
            if exc.errno == errno.EACCES:
                return (
                    f"argument --port: port {port} needs administrator rights on this machine; "
                    "choose one above 1023 with --port"
                )
            return (
                f"argument --host: cannot listen on {host} ({exc.strerror or exc}); give one of "
                "this machine's addresses with --host, e.g. 127.0.0.1 or 0.0.0.0 (all interfaces)"
            )
    return None
