"""``python -m hybridflow.service --host H --port P``: serve in the foreground.

This is what ``hflow service start`` runs detached; it needs no other entry point.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import config
from ..errors import HybridflowError
from .daemon import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybridflow.service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(config.home(), args.host, args.port, reload=args.reload, log_level=args.log_level)
    except HybridflowError as exc:
        logging.getLogger("hybridflow.service").error("error: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
