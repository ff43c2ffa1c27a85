"""The `leadscore` command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from leadscore.settings import Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = "LEADSCORE_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"leadscore: setting {name}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _stop_event() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def cmd_collector(args: argparse.Namespace) -> int:
    from collector.server import serve
    from leadscore.topics import ensure_topics

    settings = _settings()
    ensure_topics(settings)
    serve(settings)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(_settings())
    return 0


def cmd_sink(args: argparse.Namespace) -> int:
    from sinks.runner import run_sink

    run_sink(_settings(), _stop_event())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from leadscore.supervisor import run

    return run(_settings())


def cmd_demo(args: argparse.Namespace) -> int:
    from leadscore.demo import run_demo

    return run_demo(_settings(), visitors=args.visitors, seed=args.seed)


def cmd_sql(args: argparse.Namespace) -> int:
    from sinks.query import QueryError, run_query
    from sinks.reports import format_table

    try:
        result = run_query(_settings(), args.query)
    except QueryError as exc:
        print(f"leadscore sql: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps([dict(zip(result.columns, r, strict=True)) for r in result.rows], default=str)
        if args.json
        else format_table(result)
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sinks.query import QueryError
    from sinks.reports import format_table, report

    try:
        results = report(_settings())
    except QueryError as exc:
        print(f"leadscore report: {exc}", file=sys.stderr)
        return 1
    for title, result in results:
        print(f"== {title}")
        print(format_table(result))
        print()
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    from scorer import check_rules

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"leadscore rules check: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    problems = check_rules(text)
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    print(f"{args.file}: ok")
    return 0


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from schemas.export import export_schemas

    for path in export_schemas(Path(args.dir)):
        print(path)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    import time

    from schemas.timestamps import parse_time
    from scorer import RulesError, load_rules
    from streams.replay import replay

    try:
        rules = load_rules(args.rules)
    except (OSError, RulesError) as exc:
        print(f"leadscore replay: {exc}", file=sys.stderr)
        return 1
    since = int(parse_time(args.since).timestamp() * 1000) if args.since else None
    result = replay(_settings(), rules, time.time(), since)
    print(
        f"replayed {result.events} events of {result.profiles} profiles under rules "
        f"{rules.version}: {result.scores} scores to lead-scores-replay, {result.changes} "
        f"stage changes to lead-stage-changes-replay"
    )
    return 0


def cmd_email_token(args: argparse.Namespace) -> int:
    from collector.email_tokens import main as email_token_main

    return email_token_main(args.rest, _settings())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadscore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        text: str,
        into: argparse._SubParsersAction[argparse.ArgumentParser] = sub,
        add_help: bool = True,
    ) -> argparse.ArgumentParser:
        p = into.add_parser(name, help=text, description=text, add_help=add_help)
        p.set_defaults(handler=handler)
        return p

    add("collector", cmd_collector, "serve the HTTP collector")
    add("worker", cmd_worker, "run the Faust scoring worker")
    add("sink", cmd_sink, "run the ClickHouse sink (owns the embedded chDB path)")
    add("run", cmd_run, "start the broker and the whole pipeline; Ctrl-C stops it all")
    demo = add("demo", cmd_demo, "run the pipeline on a scripted day of traffic and report")
    demo.add_argument("--visitors", type=int, default=40)
    demo.add_argument("--seed", type=int, default=7)
    sql = add("sql", cmd_sql, "run a read-only SQL query against ClickHouse")
    sql.add_argument("query")
    sql.add_argument("--json", action="store_true", help="print rows as JSON")
    add("report", cmd_report, "print the analyst reports")
    rules = sub.add_parser("rules", help="scoring rules tools")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = add("check", cmd_rules_check, "validate a rules file", into=rules_sub)
    check.add_argument("file")
    schemas = sub.add_parser("schemas", help="contract tools")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", required=True)
    export = add("export", cmd_schemas_export, "write JSON Schema files", into=schemas_sub)
    export.add_argument("dir")
    replay = add("replay", cmd_replay, "recompute scores from retained history under new rules")
    replay.add_argument("--rules", required=True, help="the rules file to replay under")
    replay.add_argument("--since", help="ISO-8601 time with a zone; default: all retained")
    # Its own parser answers --help (collector.email_tokens), so this one must not.
    token = add(
        "email-token", cmd_email_token, "make signed email open/click tokens", add_help=False
    )
    token.add_argument("rest", nargs=argparse.REMAINDER, help="see leadscore email-token --help")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format='{"ts":"%(asctime)s","level":"%(levelname)s",'
        '"logger":"%(name)s","msg":"%(message)s"}',
        stream=sys.stderr,
    )
    # Client libraries narrate every partition assignment at INFO; keep their warnings.
    for noisy in ("kafka", "aiokafka", "faust", "mode", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["email-token"]:
        # argparse's REMAINDER drops a leading option (--help); hand over the rest untouched.
        return cmd_email_token(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
