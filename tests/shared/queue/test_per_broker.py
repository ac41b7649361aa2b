from pathlib import Path

from services.gateway.deps import get_queue
from shared.queue.per_broker import per_broker
from shared.settings import Settings
from shared.worker.step import progress_backend


def test_one_object_per_broker_configuration(tmp_path: Path) -> None:
    made: list[str] = []
    make = per_broker(lambda settings: made.append(settings.BROKER_URL) or object())
    a = Settings(DATA_DIR=tmp_path / "a")
    again = Settings(DATA_DIR=tmp_path / "a")
    other = Settings(DATA_DIR=tmp_path / "b")

    assert make(a) is make(again)
    assert make(other) is not make(a)
    assert len(made) == 2


def test_the_gateway_queue_and_the_progress_store_are_each_made_once(tmp_path: Path) -> None:
    settings = Settings(DATA_DIR=tmp_path)
    assert get_queue(settings) is get_queue(Settings(DATA_DIR=tmp_path))
    assert progress_backend(settings) is progress_backend(Settings(DATA_DIR=tmp_path))
