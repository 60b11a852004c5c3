#!/bin/bash
# #17 item 1 on the shipped LLM: continue its stage 2 with the single-step tasks mixed in (run alone)
set -x
# run from the repository root; B was the bundle before this one (git show 46149aa:irgmotion/assets/bundle/...)
B=irgmotion/assets/bundle
R=runs/retain
P=runs/pipe
date
[ -f $R/engine/engine.json ] || python -m irgmotion build all --data runs/corpus --out $R/engine --evaluator $B/evaluator/guo --limit 3000 --n-perturb 4 --n-retrieval 3 --workers 2 --assessment-style aligned
date
python -m irgmotion train --stage 2 --engine $R/engine --vq $B/vq --init $B/llm --out $R/llm --steps 400 --batch-size 8 --lr 2e-4 --warmup 20 --max-minutes 32 --max-length 1600 --threads 2 --stage1-fraction 0.5 --task-weights tm2t_assessment_analysis=6 $( [ -d $R/llm ] && echo --resume )
date
python -m irgmotion bench-stage1 --llm $R/llm --vq $B/vq --data runs/corpus --engine-test runs/engine_test --evaluator $B/evaluator/guo --limit 256 --pairs 400 --out $R/stage1_bench.json
date
python -c "
from pathlib import Path
from irgmotion.pipeline import assemble_bundle
assemble_bundle(Path('$R/bundle'), Path('$B/vq'), Path('$R/llm'), {'guo': Path('$B/evaluator/guo')}, '# retained\n', 'aligned')"
python -m irgmotion bench --bundle $R/bundle --data $P/corpus --evaluator $P/evaluators/guo --evaluator $P/evaluators/tmr --limit 256 --verdict rule --compositional 192 --freeform 204 --out $R/bench
date
echo CHAIN DONE
