"""`python -m sinks`: run the sink with settings from LEADSCORE_* until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging

from leadscore.settings import load_settings
from sinks.runner import SinkConfig, run_sink


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sinks", description=__doc__)
    parser.add_argument("--max-rows", type=int, default=SinkConfig.max_rows)
    parser.add_argument("--max-wait-s", type=float, default=SinkConfig.max_wait_s)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = SinkConfig(max_rows=args.max_rows, max_wait_s=args.max_wait_s)
    run_sink(load_settings(), config=config)


if __name__ == "__main__":
    main()
