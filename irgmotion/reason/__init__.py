"""Inference: the interleaved reasoning loop, its decoding, and the bundle that packages a trained system.

    from irgmotion.reason.bundle import load_bundle
    reasoner = load_bundle("irgmotion/assets/bundle").reasoner()   # measured defaults
    result = reasoner.interleaved(["a person jumps twice"])[0]

Nothing is imported here, so `import irgmotion.reason.decoding` does not load the bundle code.
"""
