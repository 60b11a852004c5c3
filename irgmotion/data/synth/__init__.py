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
from .actions import ACTIONS, UPPER_ACTIONS, UPPER_BASES, Param, schema
from .captions import ACTION_LEMMAS, caption_lemmas, caption_program, describe_action
from .cli import program_main, synth_main
from .compose import Rendered, build_track, render, render_program
from .corpus import HELD_OUT_ACTIONS, HELD_OUT_COMPOSITIONS, compositional_ids, held_out_items, write_corpus
from .program import Action, Program, ProgramError, load_program, sample_action, sample_program, validate_program

__all__ = [
    "ACTIONS", "UPPER_ACTIONS", "UPPER_BASES", "Param", "schema", "ACTION_LEMMAS", "caption_lemmas",
    "caption_program", "describe_action", "program_main", "synth_main", "Rendered", "build_track", "render",
    "render_program", "HELD_OUT_ACTIONS", "HELD_OUT_COMPOSITIONS", "held_out_items", "compositional_ids", "write_corpus", "Action",
    "Program", "ProgramError", "load_program", "sample_action", "sample_program", "validate_program",
]
