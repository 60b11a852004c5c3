"""The procedural motion-language corpus.

Parameterised atomic actions on the HumanML3D 22-joint skeleton at 20 fps,
chained into programs, rendered with planted feet, and described by
HumanML3D-style captions; written in the HumanML3D layout.

    from irgmotion.data.synth import validate_program, render_program, caption_program
    prog = validate_program({"actions": [{"name": "walk", "params": {"steps": 4},
                                          "upper": {"name": "wave", "params": {"hand": "right"}}},
                                         {"name": "jump", "params": {"count": 2}}]})
    joints = render_program(prog, seed=3)          # (T, 22, 3) float32
    caps = caption_program(prog, np.random.default_rng(0), n=3)
"""
from ...lazy_exports import lazy_exports

# Loaded on first use: importing one submodule (e.g. the action vocabulary) does not render the whole corpus code.
__getattr__, __all__ = lazy_exports(__name__, {
    "ACTIONS": "actions", "UPPER_ACTIONS": "actions", "UPPER_BASES": "actions", "Param": "actions",
    "schema": "actions", "ACTION_LEMMAS": "captions", "caption_lemmas": "captions", "caption_program": "captions",
    "describe_action": "captions", "program_main": "cli", "synth_main": "cli", "Rendered": "compose",
    "build_track": "compose", "render": "compose", "render_program": "compose", "HELD_OUT_ACTIONS": "corpus",
    "HELD_OUT_COMPOSITIONS": "corpus", "compositional_ids": "corpus", "held_out_items": "corpus",
    "write_corpus": "corpus", "Action": "program", "Program": "program", "ProgramError": "program",
    "load_program": "program", "sample_action": "program", "sample_program": "program",
    "validate_program": "program",
})
