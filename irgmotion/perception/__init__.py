"""Perception: the motion describer, a model that reads a motion's tokens and writes its canonical description."""
