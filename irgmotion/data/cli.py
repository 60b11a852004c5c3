"""`irgmotion data`: synthesise the procedural corpus, render a program, import BVH motion capture, mix datasets."""
from __future__ import annotations

from ..cliargs import positive_float, positive_int, seed


def cmd_data(args) -> int:
    if args.data_command == "import-bvh":
        from .bvh_dataset import import_bvh_main
        return import_bvh_main(args)
    if args.data_command == "mix":
        from .mix import mix_main
        return mix_main(args)
    from . import synth
    if args.data_command == "synth":
        return synth.synth_main(args)
    return synth.program_main(args)


def add_parsers(sub) -> None:
    p = sub.add_parser("data", help="datasets: synthesise the procedural corpus, render a program, import BVH mocap")
    dsub = p.add_subparsers(dest="data_command", required=True)
    s = dsub.add_parser("synth", help="write a procedural text-motion dataset in HumanML3D layout")
    s.add_argument("--out", required=True)
    s.add_argument("--n", type=positive_int, default=20000)
    s.add_argument("--seed", type=seed, default=0)
    s.add_argument("--workers", type=positive_int, default=None)
    s.set_defaults(func=cmd_data)
    s = dsub.add_parser("program", help="render a motion from an action-program JSON")
    s.add_argument("program")
    s.add_argument("output")
    s.add_argument("--seed", type=seed, default=None, help="render seed (default: the program's own, else 0)")
    s.add_argument("--to", choices=("joints", "features"), default="joints")
    s.set_defaults(func=cmd_data)
    s = dsub.add_parser("import-bvh", help="BVH motion capture of any rig -> a dataset in HumanML3D layout")
    s.add_argument("src", help="a .bvh file or a directory of them (searched recursively); clip id = file stem")
    s.add_argument("out", help="new dataset directory (absent or empty)")
    s.add_argument("--rig", default="auto", help="auto (by joint names), bandai, cmu, mixamo, smpl, or MAP.yaml "
                   "mapping HumanML3D joints to source joints")
    s.add_argument("--labels", default="auto", help="auto (Bandai cfg/ and ID.json when present), bandai, none, "
                   "or a label schema YAML (see irgmotion/data/label_captions.py)")
    s.add_argument("--skip-bad", action="store_true", help="skip files that cannot be imported and list them")
    s.add_argument("--up", default="auto", choices=("auto", "y", "z", "-y", "-z", "x", "-x"),
                   help="the source's up axis (auto: from the feet to the head)")
    s.add_argument("--seed", type=seed, default=0, help="seed of the train/val/test split")
    s.add_argument("--workers", type=positive_int, default=None, help="processes (default: all cores)")
    s.set_defaults(func=cmd_data)
    s = dsub.add_parser("mix", help="several datasets in HumanML3D layout -> one (ids prefixed per source, "
                        "splits merged, Mean/Std over the mix's train split)")
    s.add_argument("sources", nargs="+", metavar="DATASET", help="two or more dataset directories")
    s.add_argument("--out", required=True, help="new dataset directory (absent or empty)")
    s.add_argument("--weights", type=positive_float, nargs="+", default=None,
                   help="each source's share of the train split (e.g. 3 1); the others are subsampled, seeded; "
                        "val and test are kept whole")
    s.add_argument("--seed", type=seed, default=0, help="seed of the train subsampling under --weights")
    s.set_defaults(func=cmd_data)
