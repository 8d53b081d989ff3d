"""``neuroguide serve``: run the CDS Hooks service (needs the extra ``neuroguide[service]``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

__all__ = ["add_parser"]


def _port(text: str) -> int:
    """A TCP port number (0: any free port), else a usage error naming the value (not the server's OverflowError)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a port number from 0 to 65535")
    return port


def add_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """Register the ``serve`` sub-command."""
    s = sub.add_parser(
        "serve",
        help="run the CDS Hooks 2.0 service (needs neuroguide[service])",
        formatter_class=fmt,
        epilog="examples:\n  neuroguide serve\n"
        "  neuroguide serve --host 0.0.0.0 --port 8443 --config service.toml --workers 2\n"
        "with no JWT issuer configured, authentication is off (development only) and the service listens on a\n"
        "  loopback address only, unless --allow-unauthenticated is given\n"
        "configuration (TOML): [service] base_url, database, require_auth, cors_origins, max_body, as_of,\n"
        "  check_conformance;\n"
        "  database (SQLAlchemy URL) holds evaluation records, i.e. patient data; default\n"
        "  sqlite:///neuroguide-service.sqlite in the current folder\n"
        "  [[service.issuers]] iss and jwks_url (or jwks_file)",
    )
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    s.add_argument("--config", metavar="FILE", help="service configuration (TOML)")
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="evaluator processes behind one HTTP process, each request to whichever is free (default 1: "
        "answered in the HTTP process; one per CPU core is best)",
    )
    s.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="listen on a non-loopback --host although no JWT issuer is configured (development only: anyone who "
        "can reach the host can call the service)",
    )
    s.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    # The service needs optional packages: load it only when asked for, so the rest of the CLI works without them.
    try:
        service = importlib.import_module("neuroguide.service")
    except ImportError as exc:
        from .exceptions import install_hint  # here only: the parser of every command loads this module

        print(
            f"neuroguide: error: the service needs the extra: {install_hint('service')} ({exc})",
            file=sys.stderr,
        )
        return 2
    config = service.load_config(args.config) if args.config else service.ServiceConfig()
    # Refuse before saying where records go: an unauthenticated service on a public interface is not started.
    service.check_exposure(config, args.host, allow_unauthenticated=args.allow_unauthenticated)
    # Guidelines missing or altered: refused here, before anything is said about where records go.
    importlib.import_module("neuroguide._loading").catalog()
    # The records stored there contain patient data: say where they go before the first request.
    print(f"neuroguide serve: evaluation records and feedback are stored in {config.database}", file=sys.stderr)
    service.serve(
        config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        allow_unauthenticated=args.allow_unauthenticated,
    )
    return 0
