"""Test support shipped with the package: a local server that speaks the Anthropic Messages API."""

from mge_pipeline.testing.messages_api import (
    Answer,
    Fault,
    FaultKind,
    MessagesApiServer,
    RecordedRequest,
    ServerUsage,
    faulty_reference_responder,
    reference_responder,
)

__all__ = [
    "Answer",
    "Fault",
    "FaultKind",
    "MessagesApiServer",
    "RecordedRequest",
    "ServerUsage",
    "faulty_reference_responder",
    "reference_responder",
]
