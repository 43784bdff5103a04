"""The database is the queue (PostgreSQL + a Redis of the test's own, no worker): an admitted node
nobody claimed is sent again, unless its message still waits on the broker; a claimed node is
never sent again and a second claim of it is refused."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.dispatch import queued_messages
from jobs.lifecycle import Cause, Status
from jobs.models import JobEvent, Node
from jobs.scheduling.service import schedule_cycle
from tests.faults.conftest import submit


@pytest.fixture
def studio_on_redis(redis_server, settings, postgres, monkeypatch, transactional_db, data_dir):
    from studio.celery import app
    from tests.faults.conftest import _new_connections

    settings.STUDIO_EXECUTOR = "celery"
    settings.STUDIO_NODE_CLAIM_TIMEOUT_SECONDS = 0.1
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    previous = app.conf.broker_url
    app.conf.broker_url = redis_server.url
    _new_connections(app)
    yield redis_server
    app.conf.broker_url = previous
    _new_connections(app)


def test_an_unclaimed_node_is_sent_again_once_its_message_is_gone(api, studio_on_redis, marker):
    name = submit(api, "echo hi", marker)
    schedule_cycle()
    node = Node.objects.get(job__name=name)
    assert node.status == Status.PROVISIONING and node.sent_at is not None
    assert queued_messages(node.pool) == 1

    long_ago = node.job.admitted_at.replace(year=2000)
    Node.objects.filter(id=node.id).update(sent_at=long_ago)  # as if sent long ago...
    assert services.nodes_resend() == []  # ...but its message still waits on the broker: nothing to add
    assert queued_messages(node.pool) == 1

    studio_on_redis.restart()  # the message is lost
    Node.objects.filter(id=node.id).update(sent_at=long_ago)
    assert services.nodes_resend() == [node.id]
    assert queued_messages(node.pool) == 1
    assert JobEvent.objects.filter(job__name=name, code=Cause.WAITING_FOR_WORKER).count() == 1

    assert services.node_claim(node_id=node.id, worker="celery:here:1")
    assert not services.node_claim(node_id=node.id, worker="celery:there:2")  # a second delivery does nothing
    Node.objects.filter(id=node.id).update(sent_at=long_ago)
    assert services.nodes_resend() == []  # claimed: never sent again
    assert Node.objects.get(id=node.id).worker == "celery:here:1"


def test_a_node_that_cannot_be_sent_waits_and_says_so(api, studio_on_redis, marker):
    studio_on_redis.stop()
    name = submit(api, "echo hi", marker)  # the broker is down: still a 201, the database holds the job
    schedule_cycle()
    node = Node.objects.get(job__name=name)
    assert node.status == Status.PROVISIONING and node.worker == ""
    note = JobEvent.objects.get(job__name=name, code=Cause.WAITING_FOR_WORKER)
    assert "broker is unreachable" in note.message
    studio_on_redis.start()
    long_ago = node.job.admitted_at.replace(year=2000)
    Node.objects.filter(id=node.id).update(sent_at=long_ago)
    assert services.nodes_resend() == [node.id]
    assert queued_messages(node.pool) == 1
