"""Where a scheduling loop listens, the request that submits (or cancels) rings it and returns:
the cycle over the whole queue runs in the loop, once for every ring that arrived meanwhile."""

from __future__ import annotations

import pytest

from jobs import wake
from jobs.lifecycle import Status
from jobs.scheduling.service import schedule_cycle
from tests.jobs.test_services import submit

pytestmark = pytest.mark.django_db


def test_with_no_loop_listening_the_cycle_runs_right_after_the_commit(user, workspace, data_dir,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = submit(user, workspace)
    job.refresh_from_db()
    assert job.status == Status.PROVISIONING


def test_with_a_loop_listening_the_request_only_rings_it(user, workspace, data_dir,
                                                         django_capture_on_commit_callbacks):
    bell = wake.Doorbell(wake.SCHEDULER)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = submit(user, workspace)
            second = submit(user, workspace)
        for job in (first, second):
            job.refresh_from_db()
            assert job.status == Status.NOT_STARTED  # nothing was decided in the request
        assert wake.wait_any([bell], timeout=5) == [bell]
        assert wake.wait_any([bell], timeout=0) == []  # both rings were read at once: one cycle for both
        schedule_cycle()  # what the loop does when rung
        assert {job.status for job in type(first).objects.filter(id__in=[first.id, second.id])} == \
            {Status.PROVISIONING}
    finally:
        bell.close()


def test_a_worker_doorbell_is_not_a_scheduler(user, workspace, data_dir, django_capture_on_commit_callbacks):
    bell = wake.Doorbell()  # a local executor that does not schedule
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = submit(user, workspace)
        job.refresh_from_db()
        assert job.status == Status.PROVISIONING
    finally:
        bell.close()
