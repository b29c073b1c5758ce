"""Session hooks for the whole suite: the C builds that the selected test
modules registered with cbuild.ahead start when collection ends (see
tests/cbuild.py)."""
import cbuild


def pytest_collection_finish(session):
    cbuild.start_ahead(session.items)


def pytest_sessionfinish(session):
    cbuild.stop_ahead()
