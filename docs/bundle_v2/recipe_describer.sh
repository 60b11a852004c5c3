#!/bin/bash
# #17 experiment (describer.md): a goal-conditioned motion describer (irgmotion/perception) trained on two aligned
# engine builds of the corpus's train split (runs/corpus = `irgmotion data synth --out runs/corpus --n 8000 --seed 0`),
# added to a copy of the embedded bundle as its `describer` part, then diagnosed against the bundle's own LLM.
# Not shipped: it judged fewer levels right than the LLM (describer.md). Run from the repository root.
set -ex
B=irgmotion/assets/bundle
R=runs/s31
date
# the first build is recipe_more_training.sh's (6,000 goals, seed 1); the second adds near-misses (seed 2)
[ -f runs/retain2/engine/engine.json ] || python -m irgmotion build all --data runs/corpus --out runs/retain2/engine \
    --evaluator $B/evaluator/guo --limit 6000 --n-perturb 4 --n-retrieval 3 --workers 2 --assessment-style aligned --seed 1
[ -f $R/engine2/engine.json ] || python -m irgmotion build stage1 --data runs/corpus --out $R/engine2 \
    --evaluator $B/evaluator/guo --limit 6000 --n-perturb 6 --n-retrieval 1 --workers 1 --assessment-style aligned --seed 2
date
python -m irgmotion train-describer --engine runs/retain2/engine --engine $R/engine2 --vq $B/vq --out $R/desc \
    --steps 3000 --batch-size 64 --threads 2 --checkpoint-every 500 $( [ -f $R/desc/checkpoint.pt ] && echo --resume )
date
rm -rf $R/bundle_d && cp -r $B $R/bundle_d && cp -r $R/desc/describer $R/bundle_d/describer
python -c "
import json
from irgmotion.reason.bundle import write_manifest
manifest = json.load(open('$R/bundle_d/manifest.json'))
manifest.pop('format')
write_manifest('$R/bundle_d', **manifest, describer='describer')"
python -m irgmotion diagnose --bundle $R/bundle_d --engine-test runs/engine_test --evaluator $B/evaluator/guo \
    --pairs 300 --verdict rule --out docs/bundle_v2/diagnosis_describer
date
