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
from mge_pipeline.testing.scripted import BUILD_REQUEST, build_responder

__all__ = [
    "BUILD_REQUEST",
    "Answer",
    "Fault",
    "FaultKind",
    "MessagesApiServer",
    "RecordedRequest",
    "ServerUsage",
    "build_responder",
    "faulty_reference_responder",
    "reference_responder",
]
