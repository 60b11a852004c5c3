#!/bin/bash
# #17: more perception training for the shipped LLM (continues docs/bundle_v2/recipe.sh): a larger engine build
# (6,000 training goals), 400 steps, more of the single-step tasks
set -x
B=irgmotion/assets/bundle
R=runs/retain2
date
[ -f $R/engine/engine.json ] || python -m irgmotion build all --data runs/corpus --out $R/engine --evaluator $B/evaluator/guo --limit 6000 --n-perturb 4 --n-retrieval 3 --workers 2 --assessment-style aligned --seed 1
date
python -m irgmotion train --stage 2 --engine $R/engine --vq $B/vq --init $B/llm --out $R/llm --steps 400 --batch-size 8 --lr 1.5e-4 --warmup 20 --max-minutes 40 --max-length 1600 --threads 2 --stage1-fraction 0.6 --task-weights tm2t_assessment_analysis=6 $( [ -d $R/llm/checkpoint ] && echo --resume )
date
python -m irgmotion bench-stage1 --llm $R/llm --vq $B/vq --data runs/corpus --engine-test runs/engine_test --evaluator $B/evaluator/guo --limit 256 --pairs 400 --out $R/stage1_bench.json
date
python -c "
from pathlib import Path
from irgmotion.pipeline import assemble_bundle
assemble_bundle(Path('$R/bundle'), Path('$B/vq'), Path('$R/llm'), {'guo': Path('$B/evaluator/guo')}, '# retain2\n', 'aligned', Path('runs/corpus'))"
python -m irgmotion diagnose --bundle $R/bundle --engine-test runs/engine_test --evaluator $B/evaluator/guo --pairs 300 --out $R/diagnosis
date
python -m irgmotion diagnose --bundle $B --engine-test runs/engine_test --evaluator $B/evaluator/guo --pairs 300 --out $R/diagnosis_base
date
echo CHAIN DONE
