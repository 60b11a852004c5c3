#!/bin/bash
# #17: the "small" LLM preset (hidden 384, 6 layers, 11.3M parameters) trained as stage 1 from nothing on the
# 6,000-goal aligned engine build of recipe_more_training.sh, then benchmarked as bench_stage1_small.json
set -x
B=irgmotion/assets/bundle
R=runs/s29
date
python -m irgmotion train --stage 1 --engine runs/retain2/engine --vq $B/vq --out $R/stage1_small --preset small --steps 2400 --batch-size 16 --lr 1e-3 --warmup 100 --max-length 768 --threads 2 --task-weights tm2t_assessment_analysis=8 --checkpoint-every 200 --max-minutes 100 $( [ -d $R/stage1_small/checkpoint ] && echo --resume )
date
python -m irgmotion bench-stage1 --llm $R/stage1_small --vq $B/vq --data runs/corpus --engine-test runs/engine_test --evaluator $B/evaluator/guo --limit 256 --pairs 400 --out $R/stage1_small_bench.json
# the baseline, with the same code: the shipped bundle's LLM
python -m irgmotion bench-stage1 --llm $B/llm --vq $B/vq --data runs/corpus --engine-test runs/engine_test --evaluator $B/evaluator/guo --limit 256 --pairs 400 --out $R/bundle_llm_stage1_bench.json
