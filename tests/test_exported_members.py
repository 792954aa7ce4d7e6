"""The public API is small and deliberate: adding to it is a decision, not an accident."""

import agenttrail


def test_public_api_is_exactly_this() -> None:
    assert set(agenttrail.__all__) == {
        "ActionScope", "AgentAction", "AgentSuspendedError", "AgentTrailError", "AuditUnavailableError",
        "BrokerError", "BrokerUnavailableError", "ConfigError", "DecodeError", "EmbeddedBrokerError", "EventError",
        "EventTooLargeError", "InvalidEventError", "PolicyError", "QueryError", "QueryParameterError",
        "ReadOnlyQueryError",
        "Refusal", "RevokedError", "SecretInPayloadError", "ServerError", "Settings", "SpoolError",
        "SpoolFullError", "StoreError", "StoreLockedError", "TokenRevokedError", "Trail", "UnknownQueryError",
        "UnknownSchemaError", "__version__", "connect", "load_settings",
    }


def test_every_exported_member_exists_and_errors_share_one_root() -> None:
    for name in agenttrail.__all__:
        member = getattr(agenttrail, name)
        if isinstance(member, type) and name.endswith("Error"):
            assert issubclass(member, agenttrail.AgentTrailError), name


def test_the_exception_tree_docstring_names_every_error() -> None:
    from agenttrail import _exceptions

    errors = [n for n, v in vars(_exceptions).items() if isinstance(v, type) and issubclass(v, Exception)]
    for name in errors:
        assert name in (_exceptions.__doc__ or ""), f"{name} is missing from the tree in _exceptions.py"
