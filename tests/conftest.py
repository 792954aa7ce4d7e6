from tests.figures import figure, pytest_terminal_summary  # noqa: F401 - pytest finds the fixture and hook by name
from tests.fixtures import (  # noqa: F401 - pytest finds fixtures by name
    broker,
    kafka_client,
    pausable_broker,
    receiver,
    serve_factory,
    serve_factory_module,
    served,
    settings,
    settings_factory,
    store,
    trail,
    trail_factory,
)
from tests.integrity_helpers import sealed  # noqa: F401 - a sealed store for the integrity tests
