"""A restarted worker scores every event that arrives while it recovers and seeks.

Faust's recovery, once it has read the changelogs, resumes the stream partitions and seeks
them to their committed offsets while the flow it turned on for the changelogs is still
on; then it resumes flow control, which empties every stream's queue. A record fetched
during that seek went into a queue and was emptied out of it, with its read offset already
past it: not scored until the next rebalance, and lost for good once a later offset of its
partition was committed (streams/fetching.py; bench/RESULTS.md, session 12).

The worker restarts with a backlog, as after any stop under load, so the fetches during
the seek return records at once. On an idle broker the seek is short and the agents keep
up with the fetcher, so the test's worker is slowed as a busy broker would slow it
(slow_worker/sitecustomize.py): each seek takes 0.2 s longer and each output send 1 ms.
Its queues then always hold records when recovery resumes flow control (665 and 4,095
were emptied in the two runs before the fix).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.integration.streams.test_worker import RULES
from tests.integration.streams.worker_io import page_views, stored_event, topic_record, worker_env
from tests.kafka_io import TopicReader, produce
from tests.processes import running_pipeline

LEADS = [f"lead-{i}" for i in range(16)]  # over every partition of the 8
SLOW_WORKER = Path(__file__).parent / "slow_worker"
BACKLOG = 10_000  # more than the slowed worker scores during a seek


def scored_ids(values: list[Any]) -> set[str]:
    return {v["event_id"] for v in values}


def test_a_backlog_read_while_a_restarted_worker_seeks_is_all_scored(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    path = os.pathsep.join(filter(None, [str(SLOW_WORKER), os.environ.get("PYTHONPATH")]))
    env = worker_env(tmp_path, kafka_bootstrap, topic_prefix, RULES, PYTHONPATH=path)
    t0 = time.time() - 86_400
    # Each lead's profile in the changelog and each partition committed, so the restart
    # recovers state and seeks to committed offsets.
    first = [stored_event("page_view", t0, lead=x, properties={"url": "/blog"}) for x in LEADS]
    scores = TopicReader(kafka_bootstrap, topic_prefix + "lead-scores")
    with running_pipeline(env, ("worker",)):
        produce(kafka_bootstrap, [topic_record(topic_prefix, e) for e in first])
        scores.until(lambda vs: scored_ids(vs) >= scored_ids(first), timeout=90)
    backlog = page_views(len(LEADS), BACKLOG // len(LEADS), start=t0 + 1, spacing=1.0)
    produce(kafka_bootstrap, [topic_record(topic_prefix, e) for e in backlog])
    with running_pipeline(env, ("worker",)):
        scores.until(lambda vs: scored_ids(vs) >= scored_ids(backlog), timeout=120)
    scores.close()
