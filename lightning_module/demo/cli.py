"""``rnn-mnist demo [--host H] [--port P] [--model NAME]``: serve the page until interrupted.

Options are checked (the host and port by binding a socket there), and the model loaded, before
the server starts; a bad option, a busy port or a missing Gradio is one
``rnn-mnist demo: error: ...`` line (exit status 2).
"""

from __future__ import annotations

import argparse
import os
import sys

from lightning_module.demo.address import address_problem
from lightning_module.pretrained import known_names

DEFAULT_MODEL = "lstm"
PROG = "rnn-mnist demo"


class DemoArgumentError(ValueError):
    """A demo option out of range (the message names it)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump; main() prints it
        raise DemoArgumentError(message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = ", ".join(known_names())
    parser = _Parser(
        prog=PROG,
        description="Draw or upload a digit in the browser; a pretrained model reads it by rows.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (%(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="TCP port (%(default)s)")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"the pretrained model selected first: {names} (%(default)s)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"argument --port: expected a TCP port in 1..65535, got {args.port}")
    if args.model not in known_names():
        parser.error(f"argument --model: unknown pretrained model {args.model!r} (known: {names})")
    problem = address_problem(args.host, args.port)
    if problem is not None:
        parser.error(problem)
    return args


def main(argv: list[str]) -> int:
    """Serve the demo until interrupted; returns the exit status (2: bad option or no Gradio)."""
    try:
        args = parse_args(argv)
    except DemoArgumentError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no usage reports
    try:
        import gradio  # noqa: F401
    except ImportError:
        print(
            f"{PROG}: error: the demo needs gradio, which is not installed "
            "(pip install 'rnn-mnist[demo]')",
            file=sys.stderr,
        )
        return 2
    from lightning_module.demo.app import build_app
    from lightning_module.demo.reader import DigitReader

    reader = DigitReader()
    reader.model(args.model)  # a broken installation fails here, before the page is served
    app = build_app(reader, args.model)
    print(f"{PROG}: serving on http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=False, quiet=True)
    return 0
