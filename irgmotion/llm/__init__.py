"""MotionLLM: a causal LM with the motion vocabulary, prompt templates and the trace grammar."""
from .trace import ParsedTrace, Round, format_trace, parse_trace, trace_text
from .vocab import MOTION_END, MOTION_START, motion_to_string, string_to_motion

__all__ = ["ParsedTrace", "Round", "format_trace", "parse_trace", "trace_text", "MOTION_END", "MOTION_START",
           "motion_to_string", "string_to_motion"]
