"""policy_engine: may this seller list this product here, today? If not, why, and what would fix it?

Listing policies are versioned JSON documents, checked against JSON Schemas, compiled into a
forward-chaining Rete network on durable_rules, and answered with traceable justifications.
"""

from . import resources
from ._pipeline import load_documents
from .decision import Decision, Evidence, Proof, Reason, RemedyRef, Step
from .engine import Disagreement, Engine
from .errors import (
    CompileError,
    EngineFault,
    ItemError,
    LoadError,
    PolicyEngineError,
    Problem,
    RequestError,
    UnknownPlatformError,
)

__all__ = [
    "CompileError",
    "Decision",
    "Disagreement",
    "Engine",
    "EngineFault",
    "Evidence",
    "ItemError",
    "LoadError",
    "PolicyEngineError",
    "Problem",
    "Proof",
    "Reason",
    "RemedyRef",
    "RequestError",
    "Step",
    "UnknownPlatformError",
    "load_documents",
    "resources",
]

__version__ = "0.1.0"
